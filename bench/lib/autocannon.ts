/**
 * autocannon, the read load generator: each run in its own process on LOADGEN_CPU
 * (autocannon-worker.ts, found next to this file once built), reporting its own CPU time so a
 * run where the generator, not the server, was the limit shows as such.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result } from 'autocannon';
import { LOADGEN_CPU, runPinnedNode } from './cpu.js';

const WORKER = fileURLToPath(new URL('./autocannon-worker.js', import.meta.url));

export interface ReadRequest {
  path: string;
  headers?: Record<string, string>;
}

export interface AutocannonConfig {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
  /** Walked in slices, one per connection; without it every request is GET `url`. */
  requests?: ReadRequest[];
}

export interface AutocannonRun {
  result: Result;
  /** CPU time of the autocannon process. */
  cpuSeconds: number;
  /** Its wall time: longer than the duration when requests wait for their 10 s timeout. */
  wallSeconds: number;
}

export async function runAutocannon(cfg: AutocannonConfig): Promise<AutocannonRun> {
  const file = join(tmpdir(), `onepic-bench-ac-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(cfg));
  try {
    return JSON.parse(await runPinnedNode(LOADGEN_CPU, WORKER, [file], (cfg.duration + 60) * 1000)) as AutocannonRun;
  } finally {
    rmSync(file, { force: true });
  }
}

/** Responses per status code. */
export function statusCounts(result: Result): Record<string, number> {
  return Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count]));
}
