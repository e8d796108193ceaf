import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import type { ReadPathConfig } from '../../../src/config/index.js';
import type { Accounts, Principal } from '../../../src/domain/accounts.js';
import { type AppError, fail } from '../../../src/domain/errors.js';
import { guard } from '../../../src/http/auth.js';
import type { Ctx } from '../../../src/http/context.js';
import { JSON_BODY_LIMIT } from '../../../src/http/parse-body.js';
import { ACCOUNT_ROUTES } from '../../../src/http/routes/accounts.js';
import { AVATAR_ROUTES } from '../../../src/http/routes/avatars.js';
import { metricsRoutes, ROUTES, routes, type RouteDeps } from '../../../src/http/routes/index.js';
import { OPS_ROUTES } from '../../../src/http/routes/ops.js';
import { PICTURE_ROUTES } from '../../../src/http/routes/pictures.js';

/**
 * The route table and the guard its `auth` column drives: one entry per route, every route that
 * acts on a user's own things guarded as the owner's, and the server's routes built from exactly
 * the table. test/e2e/auth.test.ts calls each guarded route of the table against a server.
 */

const read: ReadPathConfig = {
  maxAgeSeconds: 60, staleWhileRevalidateSeconds: 600, defaultSize: 256, maxSize: 2048,
  activeTtlMs: 5000, activeEntries: 1000, renditionCacheBytes: 1 << 20, placeholderCacheBytes: 1 << 20, storedSizes: [32, 64, 128, 256, 512, 768], redirectHosts: [],
};

/** Inert dependencies: the factories only close over them, and no handler runs here. */
const deps = (metricsOnOwnPort: boolean): RouteDeps => ({
  opsRoutes: { readiness: {}, isDraining: () => false, registry: new Registry(), openapi: '' },
  accountRoutes: { removeAccount: async () => undefined, publicUrl: '' },
  pictureRoutes: { pictures: {} as never, metrics: {} as never },
  avatars: {} as never,
  read,
  accounts: {} as never,
  maxUploadBytes: 1000,
  uploadBudget: { bytesInFlight: 1 << 30, perAccount: 4 },
  metricsOnOwnPort,
});

const label = (r: { method: string; pattern: string }) => `${r.method} ${r.pattern}`;

describe('the route table', () => {
  it('has one entry per route: no name or method and path given twice', () => {
    const groups = [OPS_ROUTES, ACCOUNT_ROUTES, PICTURE_ROUTES, AVATAR_ROUTES];
    expect(Object.keys(ROUTES)).toHaveLength(groups.reduce((n, g) => n + Object.keys(g).length, 0));
    const routesByLabel = Object.values(ROUTES).map(label);
    expect(new Set(routesByLabel).size).toBe(routesByLabel.length);
  });

  it('guards as the owner\'s every route under a user but the public profile', () => {
    const underUser = Object.values(ROUTES).filter((r) => r.pattern.startsWith('/api/v1/users/:username'));
    expect(underUser.length).toBeGreaterThanOrEqual(8);
    for (const r of underUser) {
      const isProfile = r.method === 'get' && r.pattern === '/api/v1/users/:username';
      expect(r.auth, label(r)).toBe(isProfile ? 'none' : 'owner');
    }
    // The guard reads the user from the first path parameter.
    for (const r of Object.values(ROUTES).filter((r) => r.auth === 'owner')) expect(r.pattern, label(r)).toMatch(/^\/api\/v1\/users\/:username(?:\/|$)/);
  });

  it('is what the server registers, with each route\'s body limit', () => {
    const built = routes(deps(false));
    expect(built.map(label)).toEqual(Object.values(ROUTES).map(label));
    for (const [i, r] of Object.values(ROUTES).entries()) {
      const limit = built[i]!.bodyLimit;
      if (!('body' in r)) expect(limit, label(r)).toBeUndefined();
      else if (r.body === 'json') expect(limit, label(r)).toBe(JSON_BODY_LIMIT);
      else {
        expect(typeof limit === 'function' && limit('image/png'), label(r)).toBe(1000);
        expect(typeof limit === 'function' && limit('multipart/form-data; boundary=x'), label(r)).toBeGreaterThan(1000);
      }
    }
  });

  it('leaves /metrics to its own port when it has one', () => {
    expect(routes(deps(true)).map(label)).toEqual(Object.values(ROUTES).filter((r) => r !== ROUTES.metrics).map(label));
    expect(metricsRoutes(new Registry()).map(label)).toEqual([label(ROUTES.metrics)]);
  });
});

describe('guard', () => {
  const victim: Principal = { username: 'victim', uid: 'u1', tokenHash: 'h1' };
  const ctx = (authorization: string, username = 'victim') =>
    ({ header: (name: string) => (name === 'authorization' ? authorization : ''), params: [username] }) as unknown as Ctx;
  const accounts = {
    authenticate: async (header: string) => {
      if (header !== 'Bearer good') throw fail('unauthorized');
      return victim;
    },
  } as unknown as Accounts;
  const code = (p: Promise<unknown>) => p.then(() => 'ok', (err: AppError) => err.code);

  it('answers 401 for an owner route without a good token, before the handler runs', async () => {
    const handler = vi.fn(async () => ({ status: 204 }));
    expect(await code(Promise.resolve(guard(accounts, 'owner', handler)(ctx(''))))).toBe('unauthorized');
    expect(handler).not.toHaveBeenCalled();
  });

  it('answers 403 for an owner route with another user\'s token, before the handler runs', async () => {
    const handler = vi.fn(async () => ({ status: 204 }));
    expect(await code(Promise.resolve(guard(accounts, 'owner', handler)(ctx('Bearer good', 'intruder'))))).toBe('forbidden');
    expect(handler).not.toHaveBeenCalled();
  });

  it('passes the owner\'s principal on, in any letter case of the path\'s name', async () => {
    const handler = vi.fn(async () => ({ status: 204 }));
    expect(await guard(accounts, 'owner', handler)(ctx('Bearer good', 'Victim'))).toEqual({ status: 204 });
    expect(handler).toHaveBeenCalledWith(expect.anything(), victim);
  });

  it('lets any valid token through a token route, and leaves open routes as they are', async () => {
    const handler = vi.fn(async () => ({ status: 204 }));
    expect(await guard(accounts, 'token', handler)(ctx('Bearer good', 'someone-else'))).toEqual({ status: 204 });
    expect(await code(Promise.resolve(guard(accounts, 'token', handler)(ctx('Bearer bad'))))).toBe('unauthorized');
    const open = () => ({ status: 200 });
    expect(guard(accounts, 'none', open)).toBe(open);
  });
});
