import { Accounts } from '../../domain/accounts.js';
import { json, noContent } from '../reply.js';
import { credentialsSchema, JSON_BODY_LIMIT, jsonBody } from '../request-body.js';
import type { Ctx, RouteSpec } from '../router.js';

export interface AccountRouteDeps {
  accounts: Accounts;
  removeAccount: (principal: Awaited<ReturnType<Accounts['authenticate']>>) => Promise<void>;
  /** Absolute base for public URLs, or '' to answer paths. */
  publicUrl: string;
}

export function accountRoutes(d: AccountRouteDeps): RouteSpec[] {
  return [
    {
      method: 'post', pattern: '/api/v1/users', bodyLimit: JSON_BODY_LIMIT,
      handler: async (ctx) => {
        const { username, password } = await jsonBody(ctx, credentialsSchema);
        const created = await d.accounts.register(username, password);
        return json(201, created, { Location: `/api/v1/users/${created.username}`, 'Cache-Control': 'no-store' });
      },
    },
    {
      method: 'post', pattern: '/api/v1/tokens', bodyLimit: JSON_BODY_LIMIT,
      handler: async (ctx) => {
        const { username, password } = await jsonBody(ctx, credentialsSchema);
        return json(201, await d.accounts.login(username, password, ctx.ip), { 'Cache-Control': 'no-store' });
      },
    },
    {
      method: 'del', pattern: '/api/v1/tokens/current',
      handler: async (ctx) => {
        await d.accounts.logout(await d.accounts.authenticate(ctx.header('authorization')));
        return noContent();
      },
    },
    {
      method: 'get', pattern: '/api/v1/users/:username',
      handler: async (ctx: Ctx) => {
        const { username, active } = await d.accounts.profile(ctx.params[0]!);
        return json(200, { username, active, url: `${d.publicUrl}/${username}` });
      },
    },
    {
      method: 'del', pattern: '/api/v1/users/:username',
      handler: async (ctx) => {
        const principal = await d.accounts.authenticate(ctx.header('authorization'));
        Accounts.authorize(principal, ctx.params[0]!);
        await d.removeAccount(principal);
        return noContent();
      },
    },
  ];
}
