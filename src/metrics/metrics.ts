import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric OnePic exports, named in one place. The registry is built by main.ts and passed
 * to whoever records; nothing here is global. Labels are bounded: route templates, methods,
 * status codes, outcome codes, cache and store names. Never usernames or keys.
 */

// Latency buckets (seconds) that resolve sub-millisecond cache hits as well as slow uploads.
const HTTP_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'onepic_http_requests_total', help: 'HTTP requests answered, by route template, method and status.',
    labelNames: ['route', 'method', 'status'] as const, registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'onepic_http_request_duration_seconds', help: 'Time from request to the last byte handed to the socket.',
    labelNames: ['route', 'method'] as const, buckets: HTTP_BUCKETS, registers: [this.registry],
  });
  readonly httpInFlight = new Gauge({
    name: 'onepic_http_requests_in_flight', help: 'Requests being handled now.', registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'onepic_errors_total', help: 'Error responses by stable error code.',
    labelNames: ['code', 'status'] as const, registers: [this.registry],
  });
  readonly uploads = new Counter({
    name: 'onepic_uploads_total', help: 'Upload attempts by outcome (created, or the error code).',
    labelNames: ['outcome'] as const, registers: [this.registry],
  });
  readonly transcodeStage = new Histogram({
    name: 'onepic_transcode_stage_seconds', help: 'Time in each imaging stage, measured in the worker thread.',
    labelNames: ['job', 'stage'] as const, buckets: STAGE_BUCKETS, registers: [this.registry],
  });
  readonly cacheLookups = new Counter({
    name: 'onepic_cache_lookups_total', help: 'Cache lookups by cache and result (hit, miss).',
    labelNames: ['cache', 'result'] as const, registers: [this.registry],
  });
  readonly cacheEvictions = new Counter({
    name: 'onepic_cache_evictions_total', help: 'Entries evicted for room or expired.',
    labelNames: ['cache', 'reason'] as const, registers: [this.registry],
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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'onepic_' , eventLoopMonitoringPrecision: 10 });
  }

  /** Gauges read at scrape time, e.g. cache sizes and worker queue depth. */
  gauge(name: string, help: string, labelNames: string[], collect: (g: Gauge) => void): void {
    new Gauge({ name, help, labelNames, registers: [this.registry], collect() { collect(this); } });
  }
}
