#!/usr/bin/env node
// Mixed benchmark (issue 5): reads and uploads together at a scaled 100000:1 ratio.
//
//   npm run bench:mixed
//   BENCH_DURATION=20 BENCH_USERS=200 BENCH_READ_CONCURRENCY=32 BENCH_UPLOAD_RATE=1 npm run bench:mixed
//
// The spec's load is 50,000 uploads/min with 100,000 reads per upload. The ratio is kept, the
// volume scaled to one core: reads (autocannon, Zipf over users, closed loop) go as fast as the
// server answers, and uploads trickle at a fixed low rate (default 0.4/s, open loop), which at
// the ~40k reads/s one core serves is close to 100,000:1. The run measures reads alone, then
// reads with the trickle, so the cost of uploads on read latency shows, and the upload latency
// under read load. Server: `taskset -c 0`, ONEPIC_WORKERS=1; generators: `taskset -c 1`.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  build, startServer, register, uploadOnce, phoneJpegs, cpuSeconds, runGenerator, drive,
  conditions, conditionsMarkdown, machineLoad, writeResults, envInt, stageMetrics, stageDelta,
} from './upload.mjs';

const SELF = fileURLToPath(import.meta.url);

/** Upload trickle, run by upload.mjs's `gen` entry in a process pinned to CPU 1. */
export async function gen(spec) {
  const images = spec.images.map((f) => readFileSync(f));
  let i = 0;
  const uploads = await drive({
    host: '127.0.0.1', port: spec.port, seconds: spec.seconds, concurrency: 1, intervalMs: 1000 / spec.uploadRate,
    next: () => { const k = i++; const u = spec.users[(k * 7919) % spec.users.length]; return { path: `/api/v1/users/${u.name}/pictures?active=true`, method: 'POST', headers: { Authorization: `Bearer ${u.token}`, 'Content-Type': 'image/jpeg' }, body: images[k % images.length] }; },
  });
  return { uploads };
}

/** Zipf (s=1) over the users: a request list for autocannon, so some users are hot and most cold. */
function zipfReads(names, n = 20000) {
  const weights = names.map((_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf = []; let acc = 0; for (const w of weights) { acc += w / total; cdf.push(acc); }
  const pick = () => { const r = Math.random(); let lo = 0, hi = cdf.length - 1; while (lo < hi) { const m = (lo + hi) >> 1; if (cdf[m] < r) lo = m + 1; else hi = m; } return names[lo]; };
  return Array.from({ length: n }, () => ({ path: `/${pick()}?s=128`, headers: { Accept: 'image/webp,image/*' } }));
}

/** One autocannon run in its own process on CPU 1 (bench/lib/autocannon-worker.mjs); resolves with a summary. */
function autocannonReads(port, seconds, connections, requests) {
  const cfgFile = join(tmpdir(), `onepic-bench-ac-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(cfgFile, JSON.stringify({ url: `http://127.0.0.1:${port}`, connections, duration: seconds, requests }));
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', '1', process.execPath, join(dirname(SELF), 'lib', 'autocannon-worker.mjs'), cfgFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code) => {
      rmSync(cfgFile, { force: true });
      if (code !== 0) return reject(new Error(`autocannon exited ${code}`));
      const { result: r, cpuSeconds: genCpu, wallSeconds } = JSON.parse(out);
      const statuses = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]));
      const total = Object.values(statuses).reduce((a, b) => a + b, 0);
      resolve({
        requests: total, seconds: +wallSeconds.toFixed(2), rate_per_s: +(total / seconds).toFixed(2),
        latency_ms: { p50: r.latency.p50, p99: r.latency.p99, p999: r.latency.p99_9, max: r.latency.max },
        statuses, errors: r.errors + r.timeouts, generator_core_utilisation: +(genCpu / wallSeconds).toFixed(2),
      });
    });
  });
}

async function main() {
  const seconds = envInt('BENCH_DURATION', 20);
  const nUsers = envInt('BENCH_USERS', 200);
  const readConcurrency = envInt('BENCH_READ_CONCURRENCY', 64);
  const uploadRate = Number(process.env.BENCH_UPLOAD_RATE ?? 0.4);
  const nImages = envInt('BENCH_IMAGES', 10);
  build();
  console.error(`generating ${nImages} phone-style JPEGs...`);
  const jpegs = await phoneJpegs(nImages);
  const sizes = jpegs.map((b) => b.length);
  const imgDir = mkdtempSync(join(tmpdir(), 'onepic-bench-img-'));
  const files = jpegs.map((b, i) => { const f = join(imgDir, `${i}.jpg`); writeFileSync(f, b); return f; });
  const server = await startServer();
  try {
    console.error(`seeding ${nUsers} users with an active picture...`);
    const users = [];
    const queue = Array.from({ length: nUsers }, (_, i) => i);
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const name = `mx${i}`; const token = await register(server.base, name);
        const s = await uploadOnce(server.base, name, token, jpegs[i % jpegs.length]);
        if (s !== 201) throw new Error(`seed upload for ${name}: ${s}`);
        users[i] = { name, token };
      }
    }));
    const spec = { kind: 'mixed', module: SELF, port: server.port, seconds, users, images: files, uploadRate };
    const reads = zipfReads(users.map((u) => u.name));
    console.error(`warm-up reads (2 s)...`);
    await autocannonReads(server.port, 2, readConcurrency, reads);

    const loadBefore = machineLoad();
    console.error(`phase A: reads only, ${seconds}s, ${readConcurrency} connections...`);
    let c0 = cpuSeconds(server.child.pid);
    const aReads = await autocannonReads(server.port, seconds, readConcurrency, reads);
    const cpuA = cpuSeconds(server.child.pid) - c0;
    const a = { reads: aReads };

    console.error(`phase B: reads + ${uploadRate} upload/s, ${seconds}s...`);
    const m0 = await stageMetrics(server.base); c0 = cpuSeconds(server.child.pid);
    const [bReads, bUploads] = await Promise.all([autocannonReads(server.port, seconds, readConcurrency, reads), runGenerator(SELF, spec)]);
    const cpuB = cpuSeconds(server.child.pid) - c0; const m1 = await stageMetrics(server.base);
    const b = { reads: bReads, uploads: bUploads.uploads };

    const ratio = b.uploads?.statuses['201'] ? b.reads.requests / b.uploads.statuses['201'] : null;
    const result = {
      name: 'mixed',
      note: seconds < 20 || nUsers < 200 ? `short run (${seconds}s per phase, ${nUsers} users) to prove the script works; not a final figure` : undefined,
      scaling: `Spec: 50,000 uploads/min (833/s) with 100,000 reads per upload (83.3M reads/s) across the fleet. ` +
        `The mix is scaled to one core: reads as fast as the server answers them (autocannon, closed loop, ${readConcurrency} connections, Zipf s=1 over ${nUsers} users), ` +
        `uploads an open-loop trickle at ${uploadRate}/s. The achieved reads per upload is reported; the per-core node count for the spec is ` +
        `reads_needed / read_rate + uploads_needed / upload_rate (see bench:upload).`,
      conditions: conditions({
        server_env: { ONEPIC_WORKERS: 1, ONEPIC_METADATA: 'embedded', ONEPIC_BLOBS: 'fs (temp dir)' },
        concurrency: `reads ${readConcurrency} connections (closed loop), uploads ${uploadRate}/s (open loop)`, duration_s: seconds, users: nUsers,
        read_request: 'GET /{user}?s=128, Accept: image/webp,image/*, keep-alive',
        image: { count: nImages, width: 1600, height: 1200, format: 'JPEG q85, EXIF orientation 6, Make/Model, GPS', bytes_min: Math.min(...sizes), bytes_max: Math.max(...sizes), bytes_mean: Math.round(sizes.reduce((x, y) => x + y, 0) / sizes.length) },
        load_generator: 'reads: autocannon in its own process; uploads: node:http keep-alive in another; both on CPU 1',
        machine_load_before_run: loadBefore,
      }),
      reads_only: { ...a.reads, server_cpu_s: +cpuA.toFixed(2), server_core_utilisation: +(cpuA / a.reads.seconds).toFixed(2) },
      reads_with_uploads: { ...b.reads, server_cpu_s: +cpuB.toFixed(2), server_core_utilisation: +(cpuB / b.reads.seconds).toFixed(2) },
      uploads_under_read_load: b.uploads,
      achieved_reads_per_upload: ratio ? Math.round(ratio) : null,
      stages_during_mixed: { upload: stageDelta(m0, m1) },
    };
    const md = mixedMarkdown(result);
    console.log(md);
    writeResults('mixed', result, md);
  } finally {
    await server.stop();
    rmSync(imgDir, { recursive: true, force: true });
  }
}

function mixedMarkdown(r) {
  const row = (label, x) => `| ${label} | ${x.rate_per_s} | ${x.latency_ms.p50} | ${x.latency_ms.p99} | ${x.latency_ms.p999} | ${Object.entries(x.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')}${x.errors ? `, errors: ${x.errors}` : ''} | ${x.server_core_utilisation === undefined ? '' : Math.round(x.server_core_utilisation * 100) + '%'} |`;
  return [
    `## Mixed benchmark (${r.conditions.date})`, '',
    r.note ? `> ${r.note}\n` : '',
    `Scaling: ${r.scaling}`, '',
    '| traffic | req/s | p50 ms | p99 ms | p99.9 ms | statuses | server core busy |', '|---|---|---|---|---|---|---|',
    row('reads only', r.reads_only),
    row('reads with upload trickle', r.reads_with_uploads),
    r.uploads_under_read_load ? row('uploads under read load', r.uploads_under_read_load) : '',
    '', r.reads_only.server_core_utilisation < 0.9 ? `The server core was not saturated in the reads-only phase (${Math.round(r.reads_only.server_core_utilisation * 100)}% busy; autocannon used ${Math.round((r.reads_only.generator_core_utilisation ?? 0) * 100)}% of its core): the read rate is the load generator's limit, not OnePic's; bench:read (wrk) measures OnePic's read ceiling.` : '',
    '', `Achieved reads per upload in the mixed phase: ${r.achieved_reads_per_upload ?? 'n/a'} (spec: 100,000).`, '',
    conditionsMarkdown(r.conditions),
  ].join('\n');
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === 'gen') process.stdout.write(JSON.stringify(await gen(JSON.parse(readFileSync(process.argv[3], 'utf8')))));
  else await main();
}
