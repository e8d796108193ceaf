/**
 * bench:read's measurements: one load run against one server, with the server's CPU time over
 * the run, so every row says what a request cost as well as how many were answered.
 */
import { runAutocannon, statusCounts, type AutocannonConfig, type ReadRequest } from './lib/autocannon.js';
import { cpuSeconds } from './lib/cpu.js';
import { logger } from './lib/env.js';
import { pacedScript, runWrk } from './lib/wrk.js';

const log = logger('bench:read');

export interface Settings {
  users: number; duration: number; wrkDuration: number; connections: number; zipfS: number; sizes: number[];
  inmShare: number; seedSeconds: number; renditionCacheMb: number; requestList: number; hotSize: number;
}

export interface Measured {
  label: string; rps: number; p50: number; p99: number; p999: number;
  total: number; status: Record<string, number>; non2xx304: number; errors: number; timeouts: number;
  serverCpuSeconds: number; serverCpuPercent: number; serverCpuMicrosPerReq: number;
  loadgenCpuPercent: number; generatorBound: boolean;
  /** Wall time of the autocannon process: longer than the duration when requests wait for their 10 s timeout. */
  wallSeconds: number;
}

export async function measureAutocannon(label: string, P: Settings, serverPid: number, cfg: Omit<AutocannonConfig, 'connections'>): Promise<Measured> {
  log(`${label}: autocannon ${cfg.duration}s, ${P.connections} connections${cfg.overallRate ? `, overallRate ${cfg.overallRate}` : ''}`);
  const c0 = cpuSeconds(serverPid);
  const ac = await runAutocannon({ connections: P.connections, ...cfg });
  const serverCpuSeconds = cpuSeconds(serverPid) - c0;
  const r = ac.result;
  const status = statusCounts(r);
  const total = Object.values(status).reduce((a, b) => a + b, 0) || r.requests.total;
  const ok = (status['200'] ?? 0) + (status['304'] ?? 0);
  const serverCpuPercent = (100 * serverCpuSeconds) / ac.wallSeconds;
  const loadgenCpuPercent = (100 * ac.cpuSeconds) / ac.wallSeconds;
  return {
    label, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, p999: r.latency.p99_9,
    total, status, non2xx304: total - ok, errors: r.errors, timeouts: r.timeouts,
    serverCpuSeconds, serverCpuPercent, serverCpuMicrosPerReq: total > 0 ? (1e6 * serverCpuSeconds) / total : 0,
    loadgenCpuPercent, generatorBound: loadgenCpuPercent > 90 && serverCpuPercent < 90, wallSeconds: ac.wallSeconds,
  };
}

export interface WrkOut { label: string; rps: number; p50: string; p99: string; serverCpuPercent: number; loadgenCpuPercent: number; generatorBound: boolean; non2xx3xx: number }

/** wrk at its maximum rate. */
export async function measureWrk(label: string, P: Settings, url: string, serverPid: number): Promise<WrkOut> {
  log(`${label}: wrk -t1 -c${P.connections} -d${P.wrkDuration}s`);
  const c0 = cpuSeconds(serverPid);
  const w = await runWrk({ url, connections: P.connections, seconds: P.wrkDuration });
  const serverCpuPercent = (100 * (cpuSeconds(serverPid) - c0)) / w.wallSeconds;
  const loadgenCpuPercent = (100 * w.cpuSeconds) / P.wrkDuration;
  return {
    label, rps: w.rps, p50: w.p50, p99: w.p99, serverCpuPercent, loadgenCpuPercent,
    generatorBound: loadgenCpuPercent > 90 && serverCpuPercent < 90, non2xx3xx: w.non2xx3xx,
  };
}

export interface PacedOut { label: string; targetRate: number; rps: number; p50: string; p90: string; p99: string; connections: number; serverCpuPercent: number; non2xx3xx: number }

/**
 * wrk held near a target rate: each connection waits WAIT_MS after every response, so rate ~
 * connections * 1000 / (WAIT_MS + latency). Few connections with a short wait keep wrk's own
 * timer batching out of the latency (at 25k req/s: 2 ms and 50 connections gave p99 1.3 ms
 * where 10 ms and 250 connections gave 2.5 ms, for nginx and OnePic alike). wrk is used because
 * at half of OnePic's cache-hit maximum autocannon (which tops out at ~10k req/s on this core)
 * cannot keep the pace; the achieved rate is reported next to the target.
 */
export async function measureWrkPaced(label: string, P: Settings, url: string, serverPid: number, targetRate: number, list?: ReadRequest[]): Promise<PacedOut> {
  const WAIT_MS = 2;
  const connections = Math.max(1, Math.round((targetRate * WAIT_MS) / 1000));
  log(`${label}: wrk -t1 -c${connections} -d${P.wrkDuration}s paced to ~${targetRate} req/s`);
  const c0 = cpuSeconds(serverPid);
  const w = await runWrk({ url, connections, seconds: P.wrkDuration, script: pacedScript(WAIT_MS, list) });
  return {
    label, targetRate, connections, rps: w.rps, p50: w.p50, p90: w.p90, p99: w.p99,
    serverCpuPercent: (100 * (cpuSeconds(serverPid) - c0)) / w.wallSeconds, non2xx3xx: w.non2xx3xx,
  };
}
