import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

/** Every route of the contract that acts on a user's own resources, aimed at `victim`. */
function ownerRoutes(): OwnerRoute[] {
  const u = '/api/v1/users/victim';
  const id = victimPicture.id;
  const json = (method: string, path: string, body?: unknown) => (headers: Record<string, string>) =>
    api(base, method, path, { headers, ...(body === undefined ? {} : { body }) });
  return [
    { name: 'POST pictures', call: (headers) => uploadWith(headers) },
    { name: 'GET pictures', call: json('GET', `${u}/pictures`) },
    { name: 'GET picture', call: json('GET', `${u}/pictures/${id}`) },
    { name: 'PATCH picture', call: json('PATCH', `${u}/pictures/${id}`, { label: 'pwned' }) },
    { name: 'DELETE picture', call: json('DELETE', `${u}/pictures/${id}`) },
    { name: 'PUT active', call: json('PUT', `${u}/active`, { pictureId: id }) },
    { name: 'DELETE active', call: json('DELETE', `${u}/active`) },
    { name: 'DELETE user', call: json('DELETE', u) },
  ];
}

async function uploadWith(headers: Record<string, string>) {
  const res = await fetch(`${base}/api/v1/users/victim/pictures?active=true`, {
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
