import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { BLUE, GREEN, RED, near, phoneJpeg, pixelAt } from '../fixtures/images.js';
import { api, getImage, rawRequest, register, upload } from '../support/http.js';
import { metricValue } from '../support/metrics.js';
import { freePort, removeDataDir, type RunningServer, startServer, tempDataDir } from '../support/server.js';
import { closeInspectors, countRows, userBlobs } from '../support/inspect.js';
import { eventually } from '../support/timing.js';

/**
 * The process as an orchestrator drives it: start-up refuses bad configuration, SIGTERM
 * finishes what is in flight and exits 0, the data survives a restart, and two nodes on one
 * store agree.
 */

const MAIN = path.resolve(import.meta.dirname, '../../dist/main.js');
const dirs: string[] = [];

afterAll(async () => {
  await closeInspectors();
  for (const dir of dirs) await removeDataDir(dir);
});

async function started(opts: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  const server = await startServer(opts);
  if (!dirs.includes(server.dataDir)) dirs.push(server.dataDir);
  return server;
}

/** Starts an upload on a fresh connection; returns a handle to write the rest and the response. */
function startUpload(base: string, username: string, token: string, bytes: Buffer, agent: http.Agent | false = false) {
  const url = new URL(base);
  const req = http.request({
    host: url.hostname, port: url.port, method: 'POST', path: `/api/v1/users/${username}/pictures?active=true`, agent,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg', 'Content-Length': bytes.length },
  });
  const response = new Promise<{ status: number; body: any }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
  });
  return { req, response };
}

describe('SIGTERM', () => {
  it('an idle server exits 0', async () => {
    const server = await started();
    expect(await server.stop()).toBe(0);
  });

  it('finishes an upload whose body is still arriving, stops accepting, exits 0, and the picture survives a restart', async () => {
    const server = await started();
    const token = await register(server.base, 'inflight');
    const bytes = await phoneJpeg(1600, 1200);
    const { req, response } = startUpload(server.base, 'inflight', token, bytes);
    req.write(bytes.subarray(0, 4096));
    // Wait until the server is handling it (the /metrics request itself is the other one in flight).
    await eventually(async () => (await metricValue(server.base, 'onepic_http_requests_in_flight')) >= 2, 10_000);
    expect(await metricValue(server.base, 'onepic_http_requests_in_flight')).toBeGreaterThanOrEqual(2);

    const exited = server.stop();
    // Draining: new connections are refused while the upload goes on.
    const refused = await eventually(() => rawRequest(server.base, { path: '/healthz' }).then(() => false, () => true), 5_000);
    expect(refused).toBe(true);

    req.end(bytes.subarray(4096));
    const res = await response;
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(await exited).toBe(0);

    const again = await started({ dataDir: server.dataDir });
    try {
      const list = await api(again.base, 'GET', '/api/v1/users/inflight/pictures', { token });
      expect(list.status).toBe(200);
      expect(list.body.pictures.map((p: any) => p.id)).toEqual([res.body.id]);
      const avatar = await getImage(`${again.base}/inflight?s=64`);
      expect(avatar.status).toBe(200);
      expect(near(await pixelAt(avatar.bytes, 32, 4), RED)).toBe(true);
      expect(near(await pixelAt(avatar.bytes, 32, 60), BLUE)).toBe(true);
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });

  it('finishes an upload when SIGTERM comes right after the request is written', async () => {
    const server = await started();
    const token = await register(server.base, 'justsent');
    const bytes = await phoneJpeg(1600, 1200);
    // One kept-alive connection, already accepted by the server, carries the upload.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await new Promise<void>((resolve, reject) => {
      const url = new URL(server.base);
      http.get({ host: url.hostname, port: url.port, path: '/healthz', agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
    const { req, response } = startUpload(server.base, 'justsent', token, bytes, agent);
    let exited: Promise<number | null> | undefined;
    req.end(bytes, () => { exited = server.stop(); });
    const res = await response;
    agent.destroy();
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(exited).toBeDefined();
    expect(await exited).toBe(0);

    const again = await started({ dataDir: server.dataDir });
    try {
      const list = await api(again.base, 'GET', '/api/v1/users/justsent/pictures', { token });
      expect(list.body.pictures.map((p: any) => p.id)).toEqual([res.body.id]);
      expect((await getImage(`${again.base}/justsent`)).status).toBe(200);
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });
});

/** Runs dist/main.js with `env` until it exits, or for `ms` (then kills it: null). */
async function runToExit(env: Record<string, string>, ms = 20_000): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, out };
}

describe('a second server on a port already taken', () => {
  it.each(['PORT', 'ONEPIC_METRICS_PORT'])('refuses to start, naming the port (%s), instead of sharing it', async (variable) => {
    const metricsPort = await freePort();
    const first = await started({ env: { ONEPIC_WORKERS: '1', ONEPIC_METRICS_PORT: String(metricsPort) } });
    try {
      const dataDir = await tempDataDir();
      dirs.push(dataDir);
      const taken = variable === 'PORT' ? first.port : metricsPort;
      const other = variable === 'PORT' ? metricsPort + 1 : await freePort();
      const { code, out } = await runToExit({
        ...first.env, ONEPIC_DATA_DIR: dataDir, ONEPIC_WORKERS: '1',
        PORT: String(variable === 'PORT' ? taken : other), ONEPIC_METRICS_PORT: String(variable === 'PORT' ? other : taken),
      });
      expect(code).not.toBeNull(); // it exited by itself
      expect(code).not.toBe(0);
      expect(out).toContain(String(taken));
      // The first goes on serving alone.
      expect((await fetch(`${first.base}/healthz`)).status).toBe(200);
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });
});

describe('configuration', () => {
  it('a bad environment stops start-up with one message naming every bad variable', async () => {
    const dataDir = await tempDataDir();
    dirs.push(dataDir);
    const proc = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ONEPIC_DATA_DIR: dataDir, PORT: 'abc', ONEPIC_METADATA: 'mongo', ONEPIC_MAX_PIXELS: '-5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    for (const name of ['PORT', 'ONEPIC_METADATA', 'ONEPIC_MAX_PIXELS']) expect(out).toContain(name);
    // One message: the three appear together, not as three separate start attempts or a stack trace.
    const first = Math.min(...['PORT', 'ONEPIC_METADATA', 'ONEPIC_MAX_PIXELS'].map((n) => out.indexOf(n)));
    expect(out.slice(first)).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(out.trim().split('\n').length).toBeLessThan(12);
  });

  it('a good environment with no variables beyond the port and data directory starts and serves', async () => {
    const server = await started({ env: { ONEPIC_WORKERS: '1' } });
    expect((await fetch(`${server.base}/healthz`)).status).toBe(200);
    expect(await server.stop()).toBe(0);
  });
});

describe('two nodes on one data directory', () => {
  it('a node with ONEPIC_ACTIVE_CACHE_TTL_MS=0 serves a change made on the other at once', async () => {
    const a = await started();
    const b = await started({ dataDir: a.dataDir, env: { ONEPIC_ACTIVE_CACHE_TTL_MS: '0' } });
    try {
      const token = await register(a.base, 'shared');
      const red = await sharp({ create: { width: 64, height: 64, channels: 3, background: RED } }).png().toBuffer();
      const green = await sharp({ create: { width: 64, height: 64, channels: 3, background: GREEN } }).png().toBuffer();
      expect((await upload(a.base, 'shared', token, red, '?active=true', 'image/png')).status).toBe(201);
      const first = await getImage(`${b.base}/shared.png?s=16`);
      expect(first.status).toBe(200);
      expect(near(await pixelAt(first.bytes, 8, 8), RED)).toBe(true);

      expect((await upload(a.base, 'shared', token, green, '?active=true', 'image/png')).status).toBe(201);
      const second = await getImage(`${b.base}/shared.png?s=16`);
      expect(near(await pixelAt(second.bytes, 8, 8), GREEN)).toBe(true);
      expect(second.headers.get('etag')).not.toBe(first.headers.get('etag'));

      // A token issued on one node works on the other.
      expect((await api(b.base, 'DELETE', '/api/v1/users/shared/active', { token })).status).toBe(204);
      expect((await getImage(`${b.base}/shared?d=404`)).status).toBe(404);
    } finally {
      expect(await b.stop()).toBe(0);
      expect(await a.stop()).toBe(0);
    }
  });
});

describe('account deletion with the default sweep grace', () => {
  it('removes the account\'s blobs at once', async () => {
    const server = await started();
    try {
      const token = await register(server.base, 'gone');
      expect((await upload(server.base, 'gone', token, await phoneJpeg(400, 300), '?active=true')).status).toBe(201);
      expect((await getImage(`${server.base}/gone.webp?s=32`)).status).toBe(200);
      expect((await userBlobs(server.dataDir, 'gone')).length).toBeGreaterThan(0);
      expect((await api(server.base, 'DELETE', '/api/v1/users/gone', { token })).status).toBe(204);
      expect(await countRows(server.dataDir, 'pictures', 'gone')).toBe(0);
      expect(await userBlobs(server.dataDir, 'gone')).toEqual([]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

