import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { preparedHeaders } from '../../../src/http/reply.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { TalliedCounter } from '../../../src/metrics/tallied-counter.js';
import { seriesValue } from '../../support/metrics.js';

describe('TalliedCounter', () => {
  it('shows a bound series at zero at once, and every inc() at the next scrape', async () => {
    const registry = new Registry();
    const c = new TalliedCounter(registry, { name: 't_total', help: 'h', labelNames: ['kind'] as const });
    const a = c.bind({ kind: 'a' });
    const b = c.bind({ kind: 'b' });
    expect(await registry.metrics()).toMatch(/^t_total\{kind="a"\} 0$/m);
    for (let i = 0; i < 1000; i++) a.inc();
    b.inc(7);
    const text = await registry.metrics();
    expect(text).toMatch(/^t_total\{kind="a"\} 1000$/m);
    expect(text).toMatch(/^t_total\{kind="b"\} 7$/m);
    // A scrape moves the pending counts; a second scrape must not add them again.
    a.inc();
    expect(await registry.metrics()).toMatch(/^t_total\{kind="a"\} 1001$/m);
    expect(await registry.metrics()).toMatch(/^t_total\{kind="a"\} 1001$/m);
  });
});

describe('HttpTally', () => {
  it('counts requests, statuses, bytes and latency per route and method as prom-client would', async () => {
    const metrics = new Metrics();
    const avatar = metrics.http.route('/:name');
    const upload = metrics.http.route('/api/v1/users/:username/pictures');
    for (let i = 0; i < 5; i++) avatar.record('GET', 200, 0.0002, 100);
    avatar.record('GET', 304, 0.0001, 0);
    avatar.record('HEAD', 200, 0.0001, 0);
    upload.record('POST', 201, 0.09, 50);
    const requests = (labels: Record<string, string>) => seriesValue(metrics, 'onepic_http_requests_total', labels);
    expect(await requests({ route: '/:name', method: 'GET', status: '200' })).toBe(5);
    expect(await requests({ route: '/:name', method: 'GET', status: '304' })).toBe(1);
    expect(await requests({ route: '/:name', method: 'HEAD', status: '200' })).toBe(1);
    expect(await requests({ route: '/api/v1/users/:username/pictures', method: 'POST', status: '201' })).toBe(1);
    expect(await seriesValue(metrics, 'onepic_http_response_bytes_total', { route: '/:name' })).toBe(500);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^onepic_http_request_duration_seconds_count\{route="\/:name",method="GET"\} 6$/m);
    expect(text).toMatch(/^onepic_http_request_duration_seconds_bucket\{le="0.0001",route="\/:name",method="GET"\} 1$/m);
    // Counted once: a second scrape shows the same totals.
    avatar.record('GET', 200, 0.0002, 100);
    expect(await requests({ route: '/:name', method: 'GET', status: '200' })).toBe(6);
    expect(await requests({ route: '/:name', method: 'GET', status: '200' })).toBe(6);
    expect(await seriesValue(metrics, 'onepic_http_response_bytes_total', { route: '/:name' })).toBe(600);
  });
});

describe('preparedHeaders', () => {
  it('joins the headers into one value that reads back as the same headers', () => {
    const h = preparedHeaders([['Content-Type', 'image/jpeg'], ['ETag', '"abc"'], ['Vary', 'Accept']]);
    expect(h.firstName).toBe('Content-Type');
    // What uWS writes for one writeHeader(firstName, joinedValue) call:
    const wire = `${h.firstName}: ${h.joinedValue}\r\n`;
    expect(wire).toBe('Content-Type: image/jpeg\r\nETag: "abc"\r\nVary: Accept\r\n');
  });

  it('refuses a value with CR or LF, and a name that is not a token, so no header can be smuggled', () => {
    expect(() => preparedHeaders([['ETag', '"a"\r\nSet-Cookie: x=1']])).toThrow(/not a safe header/);
    expect(() => preparedHeaders([['ETag', 'a\nb']])).toThrow(/not a safe header/);
    expect(() => preparedHeaders([['Bad Name', 'x']])).toThrow(/not a safe header/);
    expect(() => preparedHeaders([])).toThrow();
  });
});
