import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phoneJpeg } from '../fixtures/images.js';
import { expectError } from '../support/assertions.js';
import { ON_SERVICES } from '../support/backends.js';
import { api, rawRequest, type RawResponse, register, upload } from '../support/http.js';
import { removeDataDir, type RunningServer, startServer } from '../support/server.js';
import { allBlobKeys, closeInspectors } from '../support/inspect.js';
import { listFiles } from '../support/stores.js';

/**
 * Paths an attacker or a broken client sends, byte for byte as written (node:http does not
 * normalise `..` or `//` the way fetch does). None may cause a 5xx, serve a file of the data
 * directory or the system, or reach a user through a reserved name.
 */

let server: RunningServer;
let base: string;
const SECRET = `onepic-secret-${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  server = await startServer();
  base = server.base;
  const token = await register(base, 'arpit');
  expect((await upload(base, 'arpit', token, await phoneJpeg(400, 300), '?active=true')).status).toBe(201);
  // Files a traversal would aim at: one in the data directory, one next to the blobs.
  await writeFile(path.join(server.dataDir, 'secret.txt'), SECRET);
  // The blobs directory exists only with the filesystem blob store.
  if (!ON_SERVICES) await writeFile(path.join(server.dataDir, 'blobs', 'secret.txt'), SECRET);
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  expect(server.output()).not.toMatch(/unhandled|uncaught/i);
  await closeInspectors();
  await removeDataDir(server.dataDir);
});

const long = 'a'.repeat(1000);

const HOSTILE = [
  '/../etc/passwd', '/../../../../../../etc/passwd', '/%2e%2e%2fetc', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/..%2f..%2fetc%2fpasswd',
  '/%2e%2e/%2e%2e/etc/passwd', '/..%5c..%5cetc%5cpasswd', '/%252e%252e%252fetc%252fpasswd',
  '/a%00b', '/%00', '/arpit%00', '/arpit%00.png', '/arpit.png%00.jpg',
  `/${long}`, `/${long}.png`, `/${long}?s=64`, `/api/v1/users/${long}`, `/api/v1/users/${long}/pictures`, `/i/${long}`,
  '/%C3%BCnic%C3%B8de', '/%F0%9F%98%80', '/%E2%80%AEgpj.exe', '/%ff%fe', '/%', '/%zz', '/ARPIT%C4%B0',
  '/api', '/api/', '/api/v1', '/api/v1/', '/admin', '/metrics.png', '/healthz.jpg', '/i', '/avatar', '/static', '/www',
  '/favicon.ico', '/robots.txt', '/', '//', '//arpit', '///etc/passwd', '/arpit//', '/arpit/', '/arpit/../../etc/passwd',
  '/i/', '/i//', '/i/..', '/i/../../../etc/passwd', '/i/..%2f..%2fsecret.txt', '/i/%2e%2e%2fsecret.txt', '/i/..%2fmetadata.sqlite',
  '/i/arpit.%2e%2e.64.jpg', '/i/..%2f..%2f..%2fetc%2fpasswd', '/..%2fsecret.txt', '/..%2f..%2fsecret.txt',
  '/.env', '/.git/config', '/metadata.sqlite', '/blobs/arpit', '/blobs/secret.txt', '/secret.txt', '/.tmp',
  '/arpit.jpg.png', '/arpit.', '/.jpg', '/arpit.exe', '/arpit.svg', '/arpit.html', '/arpit%2ejpg', '/arpit%2fmaster',
  '/api/v1/users/..%2f..%2fetc%2fpasswd', '/api/v1/users/%2e%2e/pictures', '/api/v1/users/arpit/pictures/..%2f..%2fmetadata.sqlite',
  '/api/v1/users/arpit/pictures/%00', '/arpit?s=64&s=99999', '/arpit?d=%00', '/arpit?s=%00', '/nobody?d=%0d%0aSet-Cookie:x=1.png',
  '/arpit?s[]=1', '/arpit?size=64&s=abc',
];

function expectHarmless(pathname: string, res: RawResponse, method: string): void {
  const what = `${method} ${pathname} -> ${res.status}`;
  expect(res.status, what).toBeGreaterThanOrEqual(200);
  expect(res.status, what).toBeLessThan(500);
  const text = res.body.toString('latin1');
  expect(text, what).not.toContain(SECRET);
  expect(text, what).not.toMatch(/root:.*:0:0:/);
  expect(text, what).not.toContain('SQLite format 3');
  expect(text, what).not.toMatch(/\bat .*\.js:\d+/); // no stack traces
  const type = String(res.headers['content-type'] ?? '');
  // Anything served with 200 is an image (or a redirect target never appears).
  if (res.status === 200) expect(type, what).toMatch(/^image\/(jpeg|png|webp|avif)$/);
  if (type.startsWith('application/json') && method !== 'HEAD') {
    const body = JSON.parse(res.body.toString()) as { error?: { code?: unknown } };
    if (res.status >= 400) expect(typeof body.error?.code, what).toBe('string');
  }
  // No header was injected from the query.
  expect(res.headers['set-cookie'], what).toBeUndefined();
}

describe('hostile paths', () => {
  it.each(HOSTILE)('GET and HEAD %s: never 5xx, never a file', async (pathname) => {
    for (const method of ['GET', 'HEAD']) expectHarmless(pathname, await rawRequest(base, { method, path: pathname }), method);
  });

  it('answers traversal attempts with a 4xx, never 200', async () => {
    for (const pathname of HOSTILE.filter((p) => /\.\.|%2e%2e|etc|secret|sqlite|%00/i.test(p))) {
      const res = await rawRequest(base, { path: pathname });
      // A placeholder image with 404 is fine, and 401 on an owner route; 200 is only for a real user (none of these).
      expect([400, 401, 404, 405], `${pathname} -> ${res.status}`).toContain(res.status);
    }
  });

  it('answers /i/ keys that are not keys with a JSON 404', async () => {
    for (const pathname of ['/i/..', '/i/..%2f..%2fsecret.txt', '/i/%2e%2e%2fsecret.txt', `/i/${long}`, '/i/%00']) {
      const res = await rawRequest(base, { path: pathname });
      expect(res.status, pathname).toBe(404);
      expect(String(res.headers['content-type']), pathname).toMatch(/^application\/json/);
    }
  });

  it('answers a 1000-character name like an unknown user (404), and refuses to register it', async () => {
    const res = await rawRequest(base, { path: `/${long}?d=404` });
    expect(res.status).toBe(404);
    expectError(await api(base, 'POST', '/api/v1/users', { body: { username: long, password: 'long enough pw' } }), 422);
  });

  it('answers unicode names with 404, and folds nothing into an existing user', async () => {
    // U+0130 (İ) lower-cases to "i̇" in JavaScript: it must not reach a user.
    for (const pathname of ['/%C3%BCnic%C3%B8de?d=404', '/ARPIT%C4%B0?d=404', '/%EF%BD%81rpit?d=404']) {
      expect((await rawRequest(base, { path: pathname })).status, pathname).toBe(404);
    }
  });
});

describe('reserved names', () => {
  it.each(['/api', '/admin', '/metrics.png', '/i', '/avatar', '/www', '/login'])('%s is never a user', async (pathname) => {
    const res = await rawRequest(base, { path: `${pathname}?d=404` });
    expect(res.status).toBe(404);
  });

  it('never shadows the routes it reserves', async () => {
    expect((await rawRequest(base, { path: '/healthz' })).status).toBe(200);
    expect((await rawRequest(base, { path: '/readyz' })).status).toBe(200);
    const metrics = await rawRequest(base, { path: '/metrics' });
    expect(metrics.status).toBe(200);
    expect(metrics.body.toString()).toContain('onepic_http_requests_total');
    for (const name of ['api', 'admin', 'metrics', 'healthz', 'readyz', 'i', 'favicon.ico']) {
      expectError(await api(base, 'POST', '/api/v1/users', { body: { username: name, password: 'long enough pw' } }), 422);
      expectError(await api(base, 'GET', `/api/v1/users/${encodeURIComponent(name)}`), 404);
    }
  });

  it('/favicon.ico and /robots.txt are 404, not images of a user', async () => {
    for (const pathname of ['/favicon.ico', '/robots.txt']) {
      const res = await rawRequest(base, { path: pathname });
      expect(res.status, pathname).toBe(404);
    }
  });
});

describe('afterwards', () => {
  it('the server still serves, and the data directory holds only what it should', async () => {
    expect((await rawRequest(base, { path: '/arpit' })).status).toBe(200);
    // Files a traversal could have written next to the blobs: only the filesystem blob store has that directory.
    if (!ON_SERVICES) {
      const files = await listFiles(path.join(server.dataDir, 'blobs'));
      for (const f of files) {
        if (f === 'secret.txt') continue;
        expect(f).toMatch(/^(arpit\/[0-9a-f]{32}\/(master|\d+\.(jpg|png|webp|avif))|\.tmp\/.*)$/);
      }
    } else {
      for (const key of await allBlobKeys(server.dataDir)) expect(key).toMatch(/^arpit\/[0-9a-f]{32}\/(master|\d+\.(jpg|png|webp|avif))$/);
    }
    const users = await api(base, 'GET', '/api/v1/users/arpit');
    expect(users.status).toBe(200);
  });
});
