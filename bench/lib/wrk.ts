/**
 * wrk, the C load generator: a cross-check that autocannon is not the bottleneck, and the only
 * one that holds a steady rate near a server's maximum. Each run is pinned to LOADGEN_CPU.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadRequest } from './autocannon.js';
import { LOADGEN_CPU } from './cpu.js';
import { run } from './exec.js';

export interface WrkOptions {
  url: string;
  connections: number;
  seconds: number;
  /** A Lua script's text (wrk -s). */
  script?: string;
}

export interface WrkRun {
  rps: number;
  /** Latency percentiles as wrk prints them ("612.00us", "1.93ms"). */
  p50: string;
  p90: string;
  p99: string;
  non2xx3xx: number;
  /** User+system time of wrk itself. */
  cpuSeconds: number;
  wallSeconds: number;
}

export async function runWrk(o: WrkOptions): Promise<WrkRun> {
  const dir = mkdtempSync(join(tmpdir(), 'onepic-bench-wrk-'));
  const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency'];
  if (o.script !== undefined) {
    writeFileSync(join(dir, 'script.lua'), o.script);
    args.push('-s', join(dir, 'script.lua'));
  }
  const t0 = Date.now();
  try {
    // `times` prints the shell's and its children's CPU: its last line is wrk's user and system time.
    const out = await run('taskset', ['-c', LOADGEN_CPU, 'sh', '-c', 'wrk "$@"; times', 'sh', ...args, o.url], (o.seconds + 60) * 1000);
    const pct = (q: string): string => new RegExp(`\\s${q}%\\s+(\\S+)`).exec(out)?.[1] ?? '?';
    const times = out.trim().split('\n').slice(-1)[0] ?? '';
    return {
      rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
      p50: pct('50'), p90: pct('90'), p99: pct('99'),
      non2xx3xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
      cpuSeconds: [...times.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0),
      wallSeconds: (Date.now() - t0) / 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A script that holds wrk near a rate: each connection waits `waitMs` after every response
 * (wrk's Lua delay()), so rate ~ connections * 1000 / (waitMs + latency). With `list`, requests
 * walk it from a random start, with their If-None-Match headers.
 */
export function pacedScript(waitMs: number, list?: ReadRequest[]): string {
  return `function delay() return ${waitMs} end\n${list ? luaRequestList(list) : ''}`;
}

/** Paths and ETags are server-made ASCII (no quote or backslash that Lua would need escaped). */
function luaRequestList(list: ReadRequest[]): string {
  const lua = (text: string): string => {
    if (/['\\\n\r]/.test(text)) throw new Error(`not safe in a Lua string: ${text}`);
    return `'${text}'`;
  };
  const paths = list.map((r) => lua(r.path)).join(',\n');
  const inm = list.flatMap((r, i) => {
    const etag = r.headers?.['If-None-Match'];
    return etag ? [`[${i + 1}]=${lua(etag)}`] : [];
  }).join(',\n');
  return `local paths = {\n${paths}\n}
local inm = {\n${inm}\n}
local i = math.random(#paths)
function request()
  i = i % #paths + 1
  if inm[i] then return wrk.format('GET', paths[i], { ['If-None-Match'] = inm[i] }) end
  return wrk.format('GET', paths[i])
end
`;
}

/** wrk's latency text (e.g. "612.00us", "1.93ms", "1.01s") in milliseconds. */
export function wrkMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 'ms' ? 1 : 1e3);
}
