import type { Accounts } from '../../domain/accounts.js';
import type { Ctx } from '../context.js';
import { credentialsSchema, jsonBody } from '../parse-body.js';
import { json, noContent } from '../reply.js';
import type { HandlersOf, RouteDecls } from './route-decl.js';

export interface AccountRouteDeps {
  accounts: Accounts;
  removeAccount: (principal: Awaited<ReturnType<Accounts['authenticate']>>) => Promise<void>;
  /** Absolute base for public URLs, or '' to answer paths. */
  publicUrl: string;
}

export const ACCOUNT_ROUTES = {
  register: { method: 'post', pattern: '/api/v1/users', auth: 'none', body: 'json' },
  login: { method: 'post', pattern: '/api/v1/tokens', auth: 'none', body: 'json' },
  logout: { method: 'del', pattern: '/api/v1/tokens/current', auth: 'token' },
  profile: { method: 'get', pattern: '/api/v1/users/:username', auth: 'none' },
  deleteAccount: { method: 'del', pattern: '/api/v1/users/:username', auth: 'owner' },
} as const satisfies RouteDecls;

export function accountHandlers(d: AccountRouteDeps): HandlersOf<typeof ACCOUNT_ROUTES> {
  return {
    register: async (ctx) => {
      const { username, password } = await jsonBody(ctx, credentialsSchema);
      const created = await d.accounts.register(username, password);
      return json(201, created, { Location: `/api/v1/users/${created.username}`, 'Cache-Control': 'no-store' });
    },
    login: async (ctx) => {
      const { username, password } = await jsonBody(ctx, credentialsSchema);
      return json(201, await d.accounts.login(username, password, ctx.ip), { 'Cache-Control': 'no-store' });
    },
    logout: async (_ctx, principal) => {
      await d.accounts.logout(principal);
      return noContent();
    },
    profile: async (ctx: Ctx) => {
      const { username, active } = await d.accounts.profile(ctx.params[0]!);
      return json(200, { username, active, url: `${d.publicUrl}/${username}` });
    },
    deleteAccount: async (_ctx, principal) => {
      await d.removeAccount(principal);
      return noContent();
    },
  };
}
