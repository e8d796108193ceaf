import { Accounts } from '../../domain/accounts.js';
import { fail } from '../../domain/errors.js';
import { pathUsername } from '../../domain/avatars.js';
import { toView } from '../../domain/pictures.js';
import type { MetadataStore } from '../../metadata/port.js';
import { json, noContent } from '../reply.js';
import { credentialsSchema, JSON_BODY_LIMIT, jsonBody } from '../parse-body.js';
import type { Ctx } from '../context.js';
import type { RouteSpec } from '../router.js';

export interface AccountRouteDeps {
  accounts: Accounts;
  store: MetadataStore;
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
        const username = pathUsername(ctx.params[0]!);
        const lookup = username ? await d.store.getActive(username) : { kind: 'no_user' as const };
        if (lookup.kind === 'no_user' || !username) throw fail('user_not_found');
        const active = lookup.kind === 'active' ? toView(lookup.picture, true) : null;
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
