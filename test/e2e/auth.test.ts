import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type RouteDecl, type RouteName } from '../../src/http/routes/index.js';
import { RED } from '../fixtures/images.js';
import { expectError } from '../support/assertions.js';
import { api, getImage, register, upload } from '../support/http.js';
import { removeDataDir, type RunningServer, startServer } from '../support/server.js';
import { closeInspectors, countRows } from '../support/inspect.js';

/**
 * Who may do what: every owner route refuses a missing, malformed, unknown or revoked token
 * with 401 and another user's token with 403, and changes nothing when it refuses. Failed
 * logins are throttled per account.
 */

let server: RunningServer;
let base: string;
let victimToken: string;
let intruderToken: string;
let revokedToken: string;
let victimPicture: { id: string; url: string };
let png: Buffer;

beforeAll(async () => {
  server = await startServer({ env: { ONEPIC_LOGIN_FAILURES_PER_ACCOUNT: '3' } });
  base = server.base;
  victimToken = await register(base, 'victim');
  intruderToken = await register(base, 'intruder');
  revokedToken = (await api(base, 'POST', '/api/v1/tokens', { body: { username: 'victim', password: 'correct horse battery' } })).body.token;
  expect((await api(base, 'DELETE', '/api/v1/tokens/current', { token: revokedToken })).status).toBe(204);
  png = await sharp({ create: { width: 64, height: 64, channels: 3, background: RED } }).png().toBuffer();
  const res = await upload(base, 'victim', victimToken, png, '?active=true&label=mine', 'image/png');
  expect(res.status).toBe(201);
  victimPicture = (await res.json()) as { id: string; url: string };
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  await closeInspectors();
  await removeDataDir(server.dataDir);
});

interface OwnerRoute {
  name: string;
  call: (headers: Record<string, string>) => Promise<{ status: number; headers: Headers; body: any }>;
}

const HTTP_METHOD: Record<RouteDecl['method'], string> = { get: 'GET', head: 'HEAD', post: 'POST', put: 'PUT', patch: 'PATCH', del: 'DELETE' };

/** The table's routes that take a token, by name, so a route added there is tested here unasked. */
const guardedRoutes = (auth: RouteDecl['auth']) =>
  (Object.entries(ROUTES) as Array<[RouteName, RouteDecl]>).filter(([, route]) => route.auth === auth);

/** The routes the contract names as acting on a user's own resources: the table must guard each. */
const CONTRACT_OWNER_ROUTES = [
  'POST /api/v1/users/:username/pictures', 'GET /api/v1/users/:username/pictures', 'GET /api/v1/users/:username/pictures/:id',
  'PATCH /api/v1/users/:username/pictures/:id', 'DELETE /api/v1/users/:username/pictures/:id', 'PUT /api/v1/users/:username/active',
  'DELETE /api/v1/users/:username/active', 'DELETE /api/v1/users/:username',
];

/**
 * Every owner route of the route table, aimed at `victim`, each with a body it would accept
 * from the owner: so a refusal is the guard's, not the body check's.
 */
function ownerRoutes(): OwnerRoute[] {
  const id = victimPicture.id;
  const bodies: Partial<Record<RouteName, unknown>> = { relabelPicture: { label: 'pwned' }, setActive: { pictureId: id } };
  return guardedRoutes('owner').map(([name, route]) => {
    const method = HTTP_METHOD[route.method];
    expect(route.pattern, `${name}: an owner route names its user first`).toMatch(/^\/api\/v1\/users\/:username(?:\/|$)/);
    const path = route.pattern.replace(':username', 'victim').replace(':id', id);
    if (route.body === 'upload') return { name: `${method} ${route.pattern}`, call: (headers) => uploadWith(path, headers) };
    const body = route.body === 'json' ? bodies[name] ?? {} : undefined;
    return { name: `${method} ${route.pattern}`, call: (headers) => api(base, method, path, { headers, ...(body === undefined ? {} : { body }) }) };
  });
}

describe('the route table', () => {
  it('guards every route the contract names as the owner\'s', () => {
    expect(guardedRoutes('owner').map(([, r]) => `${HTTP_METHOD[r.method]} ${r.pattern}`)).toEqual(expect.arrayContaining(CONTRACT_OWNER_ROUTES));
  });
});

async function uploadWith(path: string, headers: Record<string, string>) {
  const res = await fetch(`${base}${path}?active=true`, {
    method: 'POST', headers: { ...headers, 'Content-Type': 'image/png' }, body: png,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** The victim's account is exactly as the setup left it. */
async function expectVictimUntouched(): Promise<void> {
  const list = await api(base, 'GET', '/api/v1/users/victim/pictures', { token: victimToken });
  expect(list.status).toBe(200);
  expect(list.body.pictures).toHaveLength(1);
  expect(list.body.pictures[0]).toMatchObject({ id: victimPicture.id, label: 'mine', active: true });
  expect(await countRows(server.dataDir, 'users', 'victim')).toBe(1);
  expect((await getImage(`${base}/victim`)).status).toBe(200);
}

const badTokens: Array<[string, () => Record<string, string>]> = [
  ['no Authorization header', () => ({})],
  ['an empty Authorization header', () => ({ Authorization: '' })],
  ['"Bearer" without a token', () => ({ Authorization: 'Bearer' })],
  ['a Basic credential', () => ({ Authorization: `Basic ${Buffer.from('victim:correct horse battery').toString('base64')}` })],
  ['a malformed token', () => ({ Authorization: 'Bearer not-a-token' })],
  ['a token with a trailing extra part', () => ({ Authorization: `Bearer ${victimToken} extra` })],
  ['a well-formed unknown token', () => ({ Authorization: `Bearer op_${'A'.repeat(43)}` })],
  ['a wrong token one character off', () => ({ Authorization: `Bearer ${victimToken.slice(0, -1)}${victimToken.endsWith('A') ? 'B' : 'A'}` })],
  ['a revoked token', () => ({ Authorization: `Bearer ${revokedToken}` })],
];

describe('401 unauthorized', () => {
  for (const [what, headers] of badTokens) {
    it(`every owner route refuses ${what}`, async () => {
      for (const route of ownerRoutes()) {
        const res = await route.call(headers());
        expectError(res, 401, 'unauthorized');
      }
      await expectVictimUntouched();
    });
  }

  it('every route that takes any valid token refuses a missing or bad one', async () => {
    const tokenRoutes = guardedRoutes('token');
    expect(tokenRoutes.map(([, r]) => r.pattern)).toContain('/api/v1/tokens/current');
    for (const [, route] of tokenRoutes) {
      for (const headers of [{}, { Authorization: 'Bearer nope' }] as Array<Record<string, string>>) {
        expectError(await api(base, HTTP_METHOD[route.method], route.pattern, { headers }), 401, 'unauthorized');
      }
    }
  });

  it('DELETE /api/v1/tokens/current refuses a missing or bad token', async () => {
    expectError(await api(base, 'DELETE', '/api/v1/tokens/current'), 401, 'unauthorized');
    expectError(await api(base, 'DELETE', '/api/v1/tokens/current', { headers: { Authorization: 'Bearer nope' } }), 401, 'unauthorized');
  });

  it('checks the token before the body: an unauthenticated upload of junk is 401, not 415', async () => {
    const res = await fetch(`${base}/api/v1/users/victim/pictures`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'junk' });
    expect(res.status).toBe(401);
  });
});

describe('403 forbidden', () => {
  it('every owner route refuses another user\'s valid token and changes nothing', async () => {
    for (const route of ownerRoutes()) {
      const res = await route.call({ Authorization: `Bearer ${intruderToken}` });
      expectError(res, 403, 'forbidden');
    }
    await expectVictimUntouched();
    // The intruder got nothing stored under their own name either.
    expect(await countRows(server.dataDir, 'pictures', 'intruder')).toBe(0);
  });

  it('refuses it in any letter case of the path\'s name, and for users that do not exist', async () => {
    expectError(await api(base, 'GET', '/api/v1/users/VICTIM/pictures', { token: intruderToken }), 403, 'forbidden');
    expectError(await api(base, 'GET', '/api/v1/users/nobody-here/pictures', { token: intruderToken }), 403, 'forbidden');
  });

  it('lets the owner act in any letter case of the path\'s name', async () => {
    expect((await api(base, 'GET', '/api/v1/users/Victim/pictures', { token: victimToken })).status).toBe(200);
  });
});

describe('login throttle', () => {
  it('answers 429 with Retry-After after N failed logins, even for the right password', async () => {
    await register(base, 'guessed', 'the real password');
    for (let i = 0; i < 3; i++) {
      expectError(await api(base, 'POST', '/api/v1/tokens', { body: { username: 'guessed', password: `guess ${i} wrong` } }), 401, 'unauthorized');
    }
    for (const password of ['another guess', 'the real password']) {
      const res = await api(base, 'POST', '/api/v1/tokens', { body: { username: 'guessed', password } });
      expectError(res, 429);
      const retryAfter = res.headers.get('retry-after');
      expect(retryAfter).toMatch(/^[1-9]\d*$/);
    }
    // The name folds here too: another spelling is the same account.
    expectError(await api(base, 'POST', '/api/v1/tokens', { body: { username: 'GUESSED', password: 'the real password' } }), 429);
  });

  it('throttles one account without locking out others', async () => {
    await register(base, 'bystander', 'bystander password');
    const res = await api(base, 'POST', '/api/v1/tokens', { body: { username: 'bystander', password: 'bystander password' } });
    expect(res.status).toBe(201);
  });

  it('does not count successful logins', async () => {
    await register(base, 'regular', 'regular password');
    for (let i = 0; i < 5; i++) {
      expect((await api(base, 'POST', '/api/v1/tokens', { body: { username: 'regular', password: 'regular password' } })).status).toBe(201);
    }
  });

  it('existing tokens keep working while the account is throttled', async () => {
    const token = (await api(base, 'POST', '/api/v1/users', { body: { username: 'locked', password: 'locked password' } })).body.token;
    for (let i = 0; i < 4; i++) await api(base, 'POST', '/api/v1/tokens', { body: { username: 'locked', password: 'wrong wrong' } });
    expect((await api(base, 'POST', '/api/v1/tokens', { body: { username: 'locked', password: 'locked password' } })).status).toBe(429);
    expect((await api(base, 'GET', '/api/v1/users/locked/pictures', { token })).status).toBe(200);
  });
});
