/**
 * The upload load generator: node:http with keep-alive (no extra dependency), either closed loop
 * (`concurrency` loops, each sending the next request when the previous answers) or open loop
 * (one request every `intervalMs`, whatever the answers). It runs in its own process on
 * LOADGEN_CPU: runUploadLoad() starts upload-generator.ts, found next to this file once built.
 */
import http from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchUser } from './api.js';
import { LOADGEN_CPU, runPinnedNode } from './cpu.js';
import { sleep } from './exec.js';

const GENERATOR = fileURLToPath(new URL('./upload-generator.js', import.meta.url));

export interface LoadRequest {
  path: string;
  method?: string;
  headers?: Record<string, string | number>;
  body?: Buffer;
}

export interface LoadSummary {
  requests: number;
  seconds: number;
  rate_per_s: number;
  ok: number;
  latency_ms: { p50: number | null; p99: number | null; p999: number | null; max: number | null; mean: number | null };
  statuses: Record<string, number>;
  errors: number;
  /** The five slowest requests: [start offset ms, latency ms, status]. */
  slowest_start_ms_latency_ms_status: Array<[number, number, number]>;
}

const pct = (sorted: number[], p: number): number | null =>
  sorted.length ? +(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0).toFixed(3) : null;

export async function drive(o: {
  port: number; seconds: number; concurrency: number; next: () => LoadRequest; intervalMs?: number;
}): Promise<LoadSummary> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(o.concurrency, 64) });
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  const slow: Array<[number, number, number]> = [];
  let errors = 0;
  const start = performance.now();
  const end = start + o.seconds * 1000;
  const one = (): Promise<void> => new Promise((resolve) => {
    const { path, method = 'GET', headers = {}, body } = o.next();
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port: o.port, path, method, headers: body ? { ...headers, 'Content-Length': body.length } : headers, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        const ms = performance.now() - t0;
        const status = res.statusCode ?? 0;
        lat.push(ms);
        slow.push([+(t0 - start).toFixed(0), +ms.toFixed(1), status]);
        slow.sort((x, y) => y[1] - x[1]);
        slow.length = Math.min(slow.length, 5);
        statuses[status] = (statuses[status] ?? 0) + 1;
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end(body);
  });
  if (o.intervalMs) {
    const pending: Array<Promise<void>> = [];
    for (let t = start; t < end; t += o.intervalMs) {
      const wait = t - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(one());
    }
    await Promise.all(pending);
  } else {
    await Promise.all(Array.from({ length: o.concurrency }, async () => { while (performance.now() < end) await one(); }));
  }
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const total = lat.length;
  return {
    requests: total, seconds: +seconds.toFixed(2), rate_per_s: +(total / seconds).toFixed(2),
    ok: Object.entries(statuses).filter(([s]) => Number(s) < 400).reduce((a, [, n]) => a + n, 0),
    latency_ms: {
      p50: pct(lat, 50), p99: pct(lat, 99), p999: pct(lat, 99.9),
      max: total ? +(lat[total - 1] ?? 0).toFixed(3) : null, mean: total ? +(lat.reduce((a, b) => a + b, 0) / total).toFixed(3) : null,
    },
    statuses, errors, slowest_start_ms_latency_ms_status: slow,
  };
}

export interface UploadLoadSpec {
  port: number;
  seconds: number;
  users: BenchUser[];
  /** JPEG files, sent in turn. */
  images: string[];
  /** Closed loop with this many in flight, unless `ratePerSecond` makes it open loop. */
  concurrency: number;
  ratePerSecond?: number;
  /** Request k goes to user (k * userStride) mod users: 1 walks them in order, a large prime scatters. */
  userStride: number;
}

/** Uploads (each one made the active picture) from a process pinned to LOADGEN_CPU. */
export async function runUploadLoad(spec: UploadLoadSpec): Promise<LoadSummary> {
  const file = join(tmpdir(), `onepic-bench-spec-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(spec));
  try {
    return JSON.parse(await runPinnedNode(LOADGEN_CPU, GENERATOR, [file], (spec.seconds + 120) * 1000)) as LoadSummary;
  } finally {
    rmSync(file, { force: true });
  }
}
