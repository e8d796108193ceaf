import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phoneJpeg } from '../fixtures/images.js';
import { register, upload } from '../support/http.js';
import { type RunningServer, startServer } from '../support/server.js';
import { eventually, sleep } from '../support/timing.js';

/**
 * What users see when a production store stops, and that OnePic recovers by itself when it
 * comes back: the fault cases, against the real Cassandra and MinIO of
 * `npm run services:up`. These stop and restart the shared services, so the integration run
 * keeps files sequential (vitest.integration.config.ts) and afterAll restarts whatever is down.
 */
const run = promisify(execFile);
const SCRIPTS = path.resolve(import.meta.dirname, '../../scripts/services');
const service = (name: 'cassandra' | 'minio', action: 'start' | 'stop') =>
  run('bash', [path.join(SCRIPTS, `${name}.sh`), action], { timeout: 240_000 });

const json = async (res: Response) => ({ status: res.status, headers: res.headers, body: (await res.json()) as any });

describe('store faults', () => {
  let server: RunningServer;
  let token: string;

  beforeAll(async () => {
    // A short TTL, so the test also shows that an expired entry is served while the store is down.
    server = await startServer({ env: { ONEPIC_ACTIVE_CACHE_TTL_MS: '500' } });
    token = await register(server.base, 'faulty');
    expect((await upload(server.base, 'faulty', token, await phoneJpeg(640, 480), '?active=true')).status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([service('cassandra', 'start'), service('minio', 'start')]);
    await server?.stop();
  }, 300_000);

  it('keeps serving cached users while Cassandra is down, refuses writes with 503, and recovers without a restart', async () => {
    const warm = await fetch(`${server.base}/faulty?s=64`);
    expect(warm.status).toBe(200);
    const etag = warm.headers.get('etag');

    await service('cassandra', 'stop');
    await sleep(700); // past the active cache's TTL

    const cached = await fetch(`${server.base}/faulty?s=64`);
    expect(cached.status).toBe(200);
    expect(cached.headers.get('etag')).toBe(etag);

    const write = await json(await upload(server.base, 'faulty', token, await phoneJpeg(320, 240)));
    expect(write.status).toBe(503);
    expect(write.body.error.code).toBe('metadata_unavailable');
    expect(write.headers.get('retry-after')).toMatch(/^\d+$/);

    // Still ready (it serves cached reads), but says which store is missing.
    const ready = await json(await fetch(`${server.base}/readyz`));
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('degraded');
    expect(ready.body.checks.metadata).toBe('unavailable');

    await service('cassandra', 'start');
    expect(await eventually(async () => (await json(await fetch(`${server.base}/readyz`))).body.status === 'ready', 120_000)).toBe(true);
    // The driver may still see the node flap while it finishes booting; writes must come back
    // within a bound (its reconnection backoff is capped at 2 s), with OnePic never restarted.
    const next = await phoneJpeg(320, 240);
    const recovered = await eventually(async () => (await upload(server.base, 'faulty', token, next, '?active=true')).status === 201, 60_000);
    expect(recovered, server.output()).toBe(true);
    const served = await fetch(`${server.base}/faulty?s=64`);
    expect(served.status).toBe(200);
    expect(served.headers.get('etag')).not.toBe(etag);
  }, 300_000);

  it('keeps serving cached renditions while MinIO is down, refuses uploads with 503, and recovers without a restart', async () => {
    const warm = await fetch(`${server.base}/faulty?s=48`);
    expect(warm.status).toBe(200);
    // Authentication needs the metadata store: make sure it answers before blaming MinIO.
    expect((await fetch(`${server.base}/api/v1/users/faulty/pictures`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);

    await service('minio', 'stop');

    const cached = await fetch(`${server.base}/faulty?s=48`);
    expect(cached.status).toBe(200);
    expect(cached.headers.get('etag')).toBe(warm.headers.get('etag'));

    const write = await json(await upload(server.base, 'faulty', token, await phoneJpeg(300, 300)));
    expect(write.status).toBe(503);
    expect(write.body.error.code).toBe('blobs_unavailable');

    const ready = await json(await fetch(`${server.base}/readyz`));
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('degraded');
    expect(ready.body.checks.blobs).toBe('unavailable');

    await service('minio', 'start');
    expect(await eventually(async () => (await json(await fetch(`${server.base}/readyz`))).body.status === 'ready', 60_000)).toBe(true);
    expect((await upload(server.base, 'faulty', token, await phoneJpeg(300, 300))).status).toBe(201);
    // A size never rendered before needs the master from MinIO: it is reachable again.
    expect((await fetch(`${server.base}/faulty?s=33`)).status).toBe(200);
  }, 300_000);
});
