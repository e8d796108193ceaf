/**
 * Runs one autocannon load in its own process, so it can be pinned with taskset, and prints
 * {result, cpuSeconds, wallSeconds} as JSON on stdout. Started by path from autocannon.ts.
 * Usage: node autocannon-worker.js <config.json> (an AutocannonConfig).
 */
import { readFileSync } from 'node:fs';
import autocannon, { type Options } from 'autocannon';
import type { AutocannonConfig } from './autocannon.js';

const cfg = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as AutocannonConfig;
const opts: Options = {
  url: cfg.url,
  connections: cfg.connections,
  duration: cfg.duration,
  pipelining: 1,
  ...(cfg.overallRate ? { overallRate: cfg.overallRate } : {}),
};
if (cfg.requests && cfg.requests.length > 0) {
  const list = cfg.requests.map((r) => ({ method: 'GET', path: r.path, headers: r.headers ?? {} }));
  // Each connection walks its own slice of the list. autocannon prepares every request of a
  // client's list up front, per connection: handing all 64 connections the whole 20000-entry
  // list made the generator itself stall for seconds and time requests out (seen against nginx
  // serving static files just as against OnePic), so slices stay a few hundred long.
  const per = Math.max(1, Math.min(list.length, Math.ceil(list.length / cfg.connections), 400));
  let next = 0;
  opts.requests = list.slice(0, per);
  opts.setupClient = (client) => {
    const k = (next++ * per) % list.length;
    client.setRequests(list.slice(k, k + per));
  };
}
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const result = await autocannon(opts);
const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ result, cpuSeconds: (cpu.user + cpu.system) / 1e6, wallSeconds }));
