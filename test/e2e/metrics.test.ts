import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { garbageWithJpegMagic } from '../fixtures/images.js';
import { distinctJpeg } from '../fixtures/distinct-jpeg.js';
import { ON_SERVICES } from '../support/backends.js';
import { api, register, upload } from '../support/http.js';
import { parseExposition, type Sample } from '../support/metrics.js';
import { removeDataDir, type RunningServer, startServer } from '../support/server.js';
import { eventually, sleep } from '../support/timing.js';

/**
 * What an SRE's Prometheus scrapes and what lands in the logs, after a little of every kind of
 * traffic: every metric family of issue 4 is there, counts moved where traffic happened, label
 * values stay bounded (no username, key or raw URL in any of them), and the exposition parses.
 * The logs carry request ids and never a password or a token.
 */

let server: RunningServer;
let base: string;
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const USERS = ['metricsalice', 'metricsbob', 'metricscarol'];
/** Every token the server handed out. */
const tokens: string[] = [];
/** Request ids of responses we saw, with what the access log should say of them. */
const seen: Array<{ id: string; route: string; status: number }> = [];
let pictureId = '';
let pictureKey = '';
let scrape = '';

/** Notes the request id a response carries, and hands the response back with its own type. */
const record = <R extends { headers: Headers; status: number }>(res: R, route: string): R => {
  const id = res.headers.get('x-request-id');
  expect(id, `X-Request-Id on ${route}`).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
  seen.push({ id: id!, route, status: res.status });
  return res;
};

beforeAll(async () => {
  // A two-entry active cache with a short TTL, so the traffic below evicts and expires entries.
  server = await startServer({ env: { ONEPIC_LOG_LEVEL: 'debug', ONEPIC_ACTIVE_CACHE_ENTRIES: '2', ONEPIC_ACTIVE_CACHE_TTL_MS: '300' } });
  base = server.base;

  for (const name of USERS) tokens.push(await register(base, name, PASSWORD));
  const login = record(await api(base, 'POST', '/api/v1/tokens', {
    body: { username: USERS[0], password: PASSWORD }, headers: { 'X-Request-Id': 'e2e-login.1' },
  }), '/api/v1/tokens');
  expect(login.status).toBe(201);
  const token = login.body.token as string;
  tokens.push(token);

  const created = record(await upload(base, USERS[0]!, token, await distinctJpeg(1), '?active=true'), '/api/v1/users/:username/pictures');
  expect(created.status).toBe(201);
  const picture = await created.json() as { id: string; url: string };
  pictureId = picture.id;
  pictureKey = picture.url.slice('/i/'.length);
  const bad = record(await upload(base, USERS[0]!, token, garbageWithJpegMagic()), '/api/v1/users/:username/pictures');
  expect(bad.status).toBe(422);

  // Reads: a miss then hits; placeholders for a user without a picture and for no user, which
  // push the two-entry active cache over; a read after the TTL that replaces an expired entry.
  for (let i = 0; i < 3; i++) expect(record(await fetch(`${base}/${USERS[0]}?s=64`), '/:name').status).toBe(200);
  expect((await fetch(`${base}/i/${pictureKey}`)).status).toBe(200);
  for (const name of [USERS[1], USERS[2], 'metricsnobody']) await fetch(`${base}/${name}?d=identicon`);
  await sleep(400);
  await fetch(`${base}/metricsnobody?d=identicon`); // still held (the last name read), now expired

  expect(record(await fetch(`${base}/a/b/c`), '/*').status).toBe(404);
  expect(record(await fetch(`${base}/healthz`, { method: 'POST' }), '/healthz').status).toBe(405);
  scrape = await (await fetch(`${base}/metrics`)).text();
});

afterAll(async () => {
  if (server) {
    await server.stop();
    await removeDataDir(server.dataDir);
  }
});

describe('GET /metrics after traffic', () => {
  const metadataBackend = ON_SERVICES ? 'cassandra' : 'embedded';
  const blobsBackend = ON_SERVICES ? 's3' : 'fs';
  let samples: Sample[];
  let types: Map<string, string>;
  /** Sum of the samples of `name` whose labels include `labels`. */
  const sum = (name: string, labels: Record<string, string> = {}) => samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
  const values = (name: string) => samples.filter((s) => s.name === name);

  beforeAll(() => ({ samples, types } = parseExposition(scrape)));

  it('is a valid exposition: every line a comment or `name{labels} value`', () => {
    expect(samples.length).toBeGreaterThan(100);
    for (const s of samples) expect(Number.isNaN(s.value), `${s.name} ${JSON.stringify(s.labels)}`).toBe(false);
  });

  it.each([
    ['onepic_http_requests_total', 'counter'], ['onepic_http_request_duration_seconds', 'histogram'],
    ['onepic_http_requests_in_flight', 'gauge'], ['onepic_http_response_bytes_total', 'counter'], ['onepic_errors_total', 'counter'],
    ['onepic_uploads_total', 'counter'], ['onepic_transcode_stage_seconds', 'histogram'], ['onepic_imaging_jobs_total', 'counter'],
    ['onepic_imaging_queue_depth', 'gauge'], ['onepic_imaging_utilization', 'gauge'], ['onepic_imaging_threads', 'gauge'],
    ['onepic_cache_lookups_total', 'counter'], ['onepic_cache_evictions_total', 'counter'], ['onepic_cache_entries', 'gauge'],
    ['onepic_cache_bytes', 'gauge'], ['onepic_store_operation_seconds', 'histogram'], ['onepic_store_errors_total', 'counter'],
    ['onepic_orphan_blobs_collected_total', 'counter'], ['onepic_nodejs_eventloop_lag_seconds', 'gauge'],
    ['onepic_nodejs_eventloop_lag_p99_seconds', 'gauge'], ['onepic_process_cpu_seconds_total', 'counter'],
    ['onepic_nodejs_heap_size_used_bytes', 'gauge'],
  ])('has %s (%s)', (name, type) => {
    expect(types.get(name)).toBe(type);
    expect(samples.some((s) => s.name === name || s.name.startsWith(`${name}_`))).toBe(true);
  });

  it('counts requests by route pattern, method and status; unknown paths and methods under their pattern', () => {
    expect(sum('onepic_http_requests_total', { route: '/:name', method: 'GET', status: '200' })).toBeGreaterThanOrEqual(4);
    expect(sum('onepic_http_requests_total', { route: '/api/v1/users/:username/pictures', method: 'POST', status: '201' })).toBe(1);
    expect(sum('onepic_http_requests_total', { route: '/api/v1/users/:username/pictures', method: 'POST', status: '422' })).toBe(1);
    expect(sum('onepic_http_requests_total', { route: '/*', method: 'GET', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sum('onepic_http_requests_total', { route: '/healthz', method: 'POST', status: '405' })).toBe(1);
    expect(sum('onepic_errors_total', { code: 'undecodable_image', status: '422' })).toBe(1);
    expect(sum('onepic_http_requests_in_flight')).toBeGreaterThanOrEqual(1); // this scrape
  });

  it('has latency buckets down to 0.1 ms, cumulative, and counts matching the requests', () => {
    const buckets = values('onepic_http_request_duration_seconds_bucket').filter((s) => s.labels.route === '/:name' && s.labels.method === 'GET');
    expect(buckets.map((b) => b.labels.le)[0]).toBe('0.0001');
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    expect(buckets.at(-1)!.labels.le).toBe('+Inf');
    expect(buckets.at(-1)!.value).toBe(sum('onepic_http_request_duration_seconds_count', { route: '/:name', method: 'GET' }));
    expect(sum('onepic_http_request_duration_seconds_count', { route: '/:name' })).toBe(sum('onepic_http_requests_total', { route: '/:name' }));
  });

  it('counts response body bytes by route', () => {
    expect(sum('onepic_http_response_bytes_total', { route: '/:name' })).toBeGreaterThan(100);
    expect(sum('onepic_http_response_bytes_total', { route: '/i/:key' })).toBeGreaterThan(100);
    expect(values('onepic_http_response_bytes_total').every((s) => Object.keys(s.labels).join() === 'route')).toBe(true);
  });

  it('counts uploads by outcome, imaging jobs by outcome, and transcode time by stage', () => {
    expect(sum('onepic_uploads_total', { outcome: 'created' })).toBe(1);
    expect(sum('onepic_uploads_total', { outcome: 'undecodable_image' })).toBe(1);
    expect(sum('onepic_imaging_jobs_total', { job: 'upload', outcome: 'ok' })).toBe(1);
    expect(sum('onepic_imaging_jobs_total', { job: 'upload', outcome: 'undecodable_image' })).toBe(1);
    expect(sum('onepic_imaging_jobs_total', { job: 'render', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sum('onepic_imaging_jobs_total', { job: 'placeholder', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sum('onepic_imaging_jobs_total', { outcome: 'busy' })).toBe(0);
    // Measured in the worker threads, reported to the main registry. The one upload that
    // succeeded is a photo, made in one pass; the refused one stopped at the probe.
    for (const stage of ['sniff', 'probe', 'transcode']) {
      expect(sum('onepic_transcode_stage_seconds_count', { job: 'upload', stage }), stage).toBeGreaterThanOrEqual(1);
    }
    expect(sum('onepic_transcode_stage_seconds_count', { job: 'render' })).toBeGreaterThanOrEqual(1);
  });

  it('reports the worker pool: threads, queue depth and utilisation', () => {
    expect(sum('onepic_imaging_threads')).toBe(Number(server.env.ONEPIC_WORKERS));
    expect(sum('onepic_imaging_queue_depth')).toBeGreaterThanOrEqual(0);
    const utilization = sum('onepic_imaging_utilization');
    expect(utilization).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeLessThanOrEqual(1);
  });

  it('reports hits, misses, evictions, expirations, entries and bytes of both caches', () => {
    for (const cache of ['active', 'rendition']) {
      expect(sum('onepic_cache_lookups_total', { cache, result: 'hit' }), `${cache} hits`).toBeGreaterThanOrEqual(1);
      expect(sum('onepic_cache_lookups_total', { cache, result: 'miss' }), `${cache} misses`).toBeGreaterThanOrEqual(1);
      expect(sum('onepic_cache_entries', { cache }), `${cache} entries`).toBeGreaterThanOrEqual(1);
    }
    expect(sum('onepic_cache_entries', { cache: 'active' })).toBeLessThanOrEqual(2);
    expect(sum('onepic_cache_evictions_total', { cache: 'active', reason: 'evict' })).toBeGreaterThanOrEqual(1);
    expect(sum('onepic_cache_evictions_total', { cache: 'active', reason: 'expire' })).toBeGreaterThanOrEqual(1);
    expect(values('onepic_cache_evictions_total').some((s) => s.labels.cache === 'rendition' && s.labels.reason === 'evict')).toBe(true);
    expect(sum('onepic_cache_bytes', { cache: 'rendition' })).toBeGreaterThan(1000);
  });

  it('times store operations by store, backend and operation, with no errors on a healthy run', () => {
    const count = (store: string, backend: string, operation: string) =>
      sum('onepic_store_operation_seconds_count', { store, backend, operation });
    expect(count('metadata', metadataBackend, 'createUser')).toBe(USERS.length);
    for (const op of ['getUser', 'putToken', 'getToken', 'insertPicture', 'getActive']) {
      expect(count('metadata', metadataBackend, op), op).toBeGreaterThanOrEqual(1);
    }
    for (const op of ['put', 'get', 'head']) expect(count('blobs', blobsBackend, op), op).toBeGreaterThanOrEqual(1);
    const errors = values('onepic_store_errors_total');
    expect(errors.length).toBeGreaterThanOrEqual(20); // every operation's series, at 0
    expect(errors.every((s) => s.value === 0)).toBe(true);
    expect(new Set(values('onepic_store_operation_seconds_count').map((s) => s.labels.backend))).toEqual(new Set([metadataBackend, blobsBackend]));
  });

  it('keeps label values bounded: no username, key, picture id or raw URL in any', () => {
    const forbidden = [...USERS, 'metricsnobody', pictureId, pictureKey, '/a/b/c', PASSWORD, ...tokens];
    const routes = new Set<string>();
    for (const s of samples) {
      for (const [label, value] of Object.entries(s.labels)) {
        for (const word of forbidden) expect(value.toLowerCase(), `${s.name} ${label}`).not.toContain(word.toLowerCase());
        if (label === 'route') routes.add(value);
        if (label === 'method') expect(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER']).toContain(value);
      }
    }
    for (const route of routes) expect(route).toMatch(/^\/([a-z0-9.]+|:[a-z]+|\*)?(\/([a-z0-9.]+|:[a-z]+|\*))*$/);
    expect(routes).toContain('/*');
  });
});

describe('logs', () => {
  /** The JSON lines the server wrote. */
  const lines = () => server.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

  it('answer every response with X-Request-Id: the client\'s when it is a sane token, a fresh one otherwise', async () => {
    expect(seen.find((s) => s.route === '/api/v1/tokens')!.id).toBe('e2e-login.1');
    for (const bad of ['has space', 'x'.repeat(65), '']) {
      const res = await fetch(`${base}/healthz`, { headers: { 'X-Request-Id': bad } });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    const a = (await fetch(`${base}/healthz`)).headers.get('x-request-id');
    const b = (await fetch(`${base}/healthz`)).headers.get('x-request-id');
    expect(a).not.toBe(b);
  });

  it('write one structured access line per request at debug, with the request id, route pattern, status, duration and bytes', async () => {
    expect(await eventually(() => seen.every((s) => server.output().includes(s.id)), 5000)).toBe(true);
    const access = lines().filter((l) => l.msg === 'request');
    for (const s of seen) {
      const mine = access.filter((l) => l.requestId === s.id);
      expect(mine, s.id).toHaveLength(1);
      expect(mine[0]).toMatchObject({ route: s.route, status: s.status, level: 20 });
      expect(typeof mine[0]!.durationMs).toBe('number');
      expect(typeof mine[0]!.bytes).toBe('number');
      expect(typeof mine[0]!.method).toBe('string');
      expect(mine[0]).not.toHaveProperty('headers');
    }
    expect(access.find((l) => l.requestId === seen.find((s) => s.route === '/:name')!.id)!.url).toBe(`/${USERS[0]}?s=64`);
  });

  it('never contain a password, a token or a token\'s hash', () => {
    const out = server.output();
    expect(out.length).toBeGreaterThan(1000);
    expect(out).not.toContain(PASSWORD);
    for (const token of tokens) {
      expect(out).not.toContain(token);
      expect(out).not.toContain(createHash('sha256').update(token).digest('hex'));
      expect(out).not.toContain(createHash('sha256').update(token).digest('base64url'));
    }
  });
});
