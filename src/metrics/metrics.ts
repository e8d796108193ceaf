import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { HttpTally } from './http-tally.js';
import { countOutcome } from './outcomes.js';
import { ScrapedGauge } from './scraped-gauge.js';
import { TalliedCounter } from './tallied-counter.js';

/**
 * Every metric OnePic exports, named in one place. The registry is built by server.ts and passed
 * to whoever records; nothing here is global. Labels are bounded: route templates (the uWS
 * pattern, `/*` for unknown paths), a fixed set of methods, status codes, error and outcome
 * codes, cache, store, backend and operation names. Never usernames, keys or raw URLs.
 *
 * HTTP (recorded by http/access-log.ts)
 * - onepic_http_requests_total{route,method,status} counter: requests answered; 499 = client went away.
 * - onepic_http_request_duration_seconds{route,method} histogram: request to last byte handed to
 *   the socket; buckets from 0.1 ms resolve cache hits served from memory.
 * - onepic_http_requests_in_flight gauge: requests being handled now.
 * - onepic_http_response_bytes_total{route} counter: body bytes sent (headers not counted).
 * - onepic_errors_total{code,status} counter: error responses by stable error code.
 *
 * Uploads and imaging
 * - onepic_uploads_total{outcome} counter: upload attempts, `created` or the error code;
 *   recorded only through countUpload, which the upload route wraps around the whole attempt.
 * - onepic_transcode_stage_seconds{job,stage} histogram: time per imaging stage, measured in the
 *   worker thread and reported to this registry by the pool. An upload is `sniff`, `probe`, then
 *   either `transcode` (one libvips pipeline: photos) or `decode_resize` and `encode` (sources
 *   with alpha or a profile converted after the crop); a render or placeholder is `encode`.
 * - onepic_imaging_jobs_total{job,outcome} counter: jobs (upload, render, placeholder) by `ok` or
 *   error code (`busy` = queue full, `shutting_down`, an image rejection, `internal`).
 * - onepic_imaging_queue_depth gauge: jobs waiting for a worker thread.
 * - onepic_imaging_utilization gauge: share of worker threads busy, 0 to 1.
 * - onepic_imaging_queue_capacity gauge: jobs that may wait before 503 busy (ONEPIC_WORKER_QUEUE).
 * - onepic_imaging_threads gauge: worker threads configured.
 *
 * Caches (active = username -> active picture, rendition = image bytes)
 * - onepic_cache_lookups_total{cache,result} counter: result hit or miss.
 * - onepic_cache_evictions_total{cache,reason} counter: reason `evict` (room needed) or `expire`
 *   (an expired entry replaced by a fresh read; active cache only, renditions never expire).
 * - onepic_cache_entries{cache} gauge: entries held.
 * - onepic_cache_bytes{cache} gauge: bytes held by the byte-bounded rendition cache.
 *
 * Stores (recorded by metrics/instrumented-stores.ts)
 * - onepic_store_operation_seconds{store,backend,operation} histogram: latency of each port
 *   method; store metadata|blobs, backend embedded|cassandra|fs|s3.
 * - onepic_store_errors_total{store,backend,operation} counter: operations that threw (an absent
 *   record answered with null or false is not an error).
 * - onepic_orphan_blobs_collected_total counter: master blobs the sweeper removed.
 *
 * Node.js defaults, prefixed `onepic_`: CPU, memory, heap, GC, handles, and event-loop lag
 * (onepic_nodejs_eventloop_lag_seconds and its percentiles).
 */

// Latency buckets (seconds) that resolve sub-millisecond cache hits as well as slow uploads.
const HTTP_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new TalliedCounter(this.registry, {
    name: 'onepic_http_requests_total', help: 'HTTP requests answered, by route template, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
  });
  readonly httpDuration = new Histogram({
    name: 'onepic_http_request_duration_seconds', help: 'Time from request to the last byte handed to the socket.',
    labelNames: ['route', 'method'] as const, buckets: HTTP_BUCKETS, registers: [this.registry],
  });
  readonly httpInFlight = new ScrapedGauge(this.registry, {
    name: 'onepic_http_requests_in_flight', help: 'Requests being handled now.',
  });
  readonly httpResponseBytes = new TalliedCounter(this.registry, {
    name: 'onepic_http_response_bytes_total', help: 'Response body bytes sent, by route template.',
    labelNames: ['route'] as const,
  });
  /** How requests are counted: through this, never through the three metrics above directly. */
  readonly http: HttpTally = new HttpTally(this.httpRequests, this.httpResponseBytes, this.httpDuration);
  readonly openDescriptors = new ScrapedGauge(this.registry, {
    name: 'onepic_open_descriptors', help: 'Open file descriptors at the last check (connections are most of them).',
  });
  readonly descriptorCap = new ScrapedGauge(this.registry, {
    name: 'onepic_descriptor_cap', help: 'Open descriptors at which the node stops accepting connections.',
  });
  readonly accepting = new ScrapedGauge(this.registry, {
    name: 'onepic_accepting_connections', help: '1 while the node accepts new connections, 0 while paused at the descriptor cap.',
  });
  readonly acceptPauses = new Counter({
    name: 'onepic_accept_pauses_total', help: 'Times the node stopped accepting connections at the descriptor cap.',
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'onepic_errors_total', help: 'Error responses by stable error code.',
    labelNames: ['code', 'status'] as const, registers: [this.registry],
  });
  private readonly uploads = new Counter({
    name: 'onepic_uploads_total', help: 'Upload attempts by outcome (created, or the error code).',
    labelNames: ['outcome'] as const, registers: [this.registry],
  });
  readonly transcodeStage = new Histogram({
    name: 'onepic_transcode_stage_seconds', help: 'Time in each imaging stage, measured in the worker thread.',
    labelNames: ['job', 'stage'] as const, buckets: STAGE_BUCKETS, registers: [this.registry],
  });
  readonly imagingJobs = new Counter({
    name: 'onepic_imaging_jobs_total', help: 'Imaging jobs by kind and outcome (ok, or the error code, e.g. busy).',
    labelNames: ['job', 'outcome'] as const, registers: [this.registry],
  });
  readonly imagingQueueDepth = new ScrapedGauge(this.registry, {
    name: 'onepic_imaging_queue_depth', help: 'Imaging jobs waiting for a worker thread.',
  });
  readonly imagingUtilization = new ScrapedGauge(this.registry, {
    name: 'onepic_imaging_utilization', help: 'Share of imaging worker threads busy, 0 to 1.',
  });
  readonly imagingQueueCapacity = new ScrapedGauge(this.registry, {
    name: 'onepic_imaging_queue_capacity', help: 'Imaging jobs that may wait before new ones get 503 busy (ONEPIC_WORKER_QUEUE).',
  });
  readonly imagingThreads = new ScrapedGauge(this.registry, {
    name: 'onepic_imaging_threads', help: 'Imaging worker threads configured.',
  });
  readonly cacheLookups = new TalliedCounter(this.registry, {
    name: 'onepic_cache_lookups_total', help: 'Cache lookups by cache and result (hit, miss).',
    labelNames: ['cache', 'result'] as const,
  });
  readonly cacheEvictions = new Counter({
    name: 'onepic_cache_evictions_total', help: 'Entries evicted for room (evict) or replaced after expiring (expire).',
    labelNames: ['cache', 'reason'] as const, registers: [this.registry],
  });
  readonly cacheEntries = new ScrapedGauge(this.registry, {
    name: 'onepic_cache_entries', help: 'Entries held by each cache.', labelNames: ['cache'] as const,
  });
  readonly cacheBytes = new ScrapedGauge(this.registry, {
    name: 'onepic_cache_bytes', help: 'Bytes held by each byte-bounded cache, per-entry overhead included.', labelNames: ['cache'] as const,
  });
  readonly storeDuration = new Histogram({
    name: 'onepic_store_operation_seconds', help: 'Store operation latency by store, backend and operation.',
    labelNames: ['store', 'backend', 'operation'] as const, buckets: HTTP_BUCKETS, registers: [this.registry],
  });
  readonly storeErrors = new Counter({
    name: 'onepic_store_errors_total', help: 'Store operations that failed, by store, backend and operation.',
    labelNames: ['store', 'backend', 'operation'] as const, registers: [this.registry],
  });
  readonly orphansCollected = new Counter({
    name: 'onepic_orphan_blobs_collected_total', help: 'Master blobs removed by the sweeper because no picture named them.',
    registers: [this.registry],
  });

  /** Counts one upload attempt (body, checks, processing, storing) by how it ended. */
  countUpload<T>(attempt: () => Promise<T>): Promise<T> {
    return countOutcome(attempt, 'created', (outcome) => this.uploads.inc({ outcome }));
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'onepic_', eventLoopMonitoringPrecision: 10 });
  }
}
