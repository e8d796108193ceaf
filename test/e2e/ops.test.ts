import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from '../support/assertions.js';
import { api, rawRequest, register } from '../support/http.js';
import { freePort, removeDataDir, type RunningServer, startServer } from '../support/server.js';

/** What operators and their tools see: health, readiness, metrics, and JSON for unknown routes and methods. */

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startServer();
  base = server.base;
  await register(base, 'opsuser');
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  await removeDataDir(server.dataDir);
});

describe('health and readiness', () => {
  it('GET /healthz answers 200', async () => {
    const res = await api(base, 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('GET /readyz answers 200 with a check per store', async () => {
    const res = await api(base, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    expect(res.body.checks).toEqual({ metadata: 'ok', blobs: 'ok' });
  });
});

describe('GET /metrics', () => {
  it('answers Prometheus text with the request counter, labelled by route, method and status', async () => {
    await fetch(`${base}/opsuser?d=404`);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^# HELP onepic_http_requests_total /m);
    expect(text).toMatch(/^# TYPE onepic_http_requests_total counter$/m);
    const sample = text.split('\n').find((l) => l.startsWith('onepic_http_requests_total{') && l.includes('status="404"'));
    expect(sample).toBeDefined();
    expect(sample).toMatch(/method="GET"/);
    expect(sample).toMatch(/ \d+(\.\d+)?$/);
  });

  it('counts requests: the counter for a route grows', async () => {
    const count = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return text.split('\n').filter((l) => l.startsWith('onepic_http_requests_total{') && l.includes('route="/healthz"'))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    };
    const before = await count();
    for (let i = 0; i < 3; i++) await fetch(`${base}/healthz`);
    expect(await count()).toBe(before + 3);
  });

  it('can be served on its own port (ONEPIC_METRICS_PORT)', async () => {
    const metricsPort = await freePort();
    const separate = await startServer({ env: { ONEPIC_METRICS_PORT: String(metricsPort) } });
    try {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('onepic_http_requests_total');
      // Not on the public port then.
      expect((await fetch(`${separate.base}/metrics`)).headers.get('content-type') ?? '').not.toMatch(/^text\/plain/);
    } finally {
      expect(await separate.stop()).toBe(0);
      await removeDataDir(separate.dataDir);
    }
  });
});

/** Writes `raw` on a new connection; resolves with all the server sent before closing (or 5 s). */
function exchange(raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const socket = connect(Number(url.port), url.hostname, () => socket.write(raw));
    let received = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
    socket.on('error', reject);
    socket.on('close', () => { clearTimeout(timer); resolve(received); });
  });
}

describe('unknown routes and methods', () => {
  it.each(['/api/v1/nope', '/api/v2/users', '/api/v1/users/opsuser/nope', '/i/a/b', '/a/b/c', '/api/v1/tokens/other'])(
    'GET %s answers a JSON 404', async (pathname) => {
      expectError(await api(base, 'GET', pathname), 404);
    },
  );

  it.each([
    ['POST', '/healthz', ['GET']],
    ['DELETE', '/readyz', ['GET']],
    ['PUT', '/metrics', ['GET']],
    ['GET', '/api/v1/tokens', ['POST']],
    ['PUT', '/api/v1/users', ['POST']],
    ['PATCH', '/api/v1/tokens/current', ['DELETE']],
    ['POST', '/api/v1/users/opsuser', ['GET', 'DELETE']],
    ['PUT', '/api/v1/users/opsuser/pictures', ['GET', 'POST']],
    ['POST', '/api/v1/users/opsuser/pictures/x', ['GET', 'PATCH', 'DELETE']],
    ['POST', '/api/v1/users/opsuser/active', ['PUT', 'DELETE']],
    ['POST', '/opsuser', ['GET', 'HEAD']],
    ['DELETE', '/opsuser.png', ['GET', 'HEAD']],
    ['PUT', '/i/some-key', ['GET', 'HEAD']],
  ])('%s %s answers 405 with Allow: %j', async (method, pathname, allowed) => {
    const res = await api(base, method, pathname, { body: method === 'GET' ? undefined : {} });
    expectError(res, 405);
    const allow = (res.headers.get('allow') ?? '').split(',').map((m) => m.trim()).filter(Boolean).sort();
    expect(allow).toEqual([...allowed].sort());
  });

  it.each(['OPTIONS', 'TRACE', 'CONNECT'])('%s, a method no route takes, answers 405 with Allow on a known path and 404 elsewhere', async (method) => {
    const known = await exchange(`${method} /api/v1/users/opsuser HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(known).toMatch(/^HTTP\/1\.1 405 /);
    expect(known).toMatch(/\r\nallow: GET, DELETE\r\n/i);
    expect(await exchange(`${method} /a/b/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 404 /);
  });

  // A tripwire, not a wish: uWS 20.30 closes the connection on a method outside RFC 9110's nine
  // before any JavaScript runs, so no route can answer it (docs/OPERATIONS.md, known limits).
  // If this fails, uWS now delivers such methods and the router answers them 405/404 as above.
  it.each(['QUERY', 'PURGE', 'get'])('%s is closed by uWS itself, at once, without an answer', async (method) => {
    expect(await exchange(`${method} /api/v1/users/opsuser HTTP/1.1\r\nHost: x\r\n\r\n`)).toBe('');
  });

  it('a 405 changes nothing', async () => {
    await api(base, 'POST', '/api/v1/users/opsuser', { body: { username: 'x', password: 'yyyyyyyyyy' } });
    expect((await api(base, 'GET', '/api/v1/users/opsuser')).status).toBe(200);
    expect((await api(base, 'GET', '/api/v1/users/x')).status).toBe(404);
  });

  it('serves the OpenAPI description', async () => {
    const res = await rawRequest(base, { path: '/api/v1/openapi.yaml' });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toMatch(/openapi:\s*['"]?3\./);
  });
});
