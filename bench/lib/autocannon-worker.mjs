// Runs one autocannon load in its own process (so it can be pinned with taskset) and prints
// {result, cpuSeconds, wallSeconds} as JSON on stdout. Usage: node autocannon-worker.mjs <config.json>
// config: { url, connections, duration, pipelining?, overallRate?, requests?: [{path, headers}] }
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const opts = {
  url: cfg.url,
  connections: cfg.connections,
  duration: cfg.duration,
  pipelining: cfg.pipelining ?? 1,
  ...(cfg.overallRate ? { overallRate: cfg.overallRate } : {}),
};
if (cfg.requests && cfg.requests.length > 0) {
  const list = cfg.requests.map((r) => ({ method: 'GET', path: r.path, headers: r.headers ?? {} }));
  opts.requests = list;
  // Each connection walks the list from its own random offset, so connections don't move in lockstep.
  opts.setupClient = (client) => {
    const k = Math.floor(Math.random() * list.length);
    client.setRequests(list.slice(k).concat(list.slice(0, k)));
  };
}
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const result = await autocannon(opts);
const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ result, cpuSeconds: (cpu.user + cpu.system) / 1e6, wallSeconds }));
