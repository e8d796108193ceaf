/**
 * Mixed benchmark (issue 5): reads and uploads together at a scaled 100000:1 ratio.
 *
 *   npm run bench:mixed
 *   BENCH_DURATION=20 BENCH_USERS=200 BENCH_READ_CONCURRENCY=64 BENCH_UPLOAD_RATE=0.4 BENCH_IMAGES=10 npm run bench:mixed
 *
 * The spec's load is 50,000 uploads/min with 100,000 reads per upload. The ratio is kept, the
 * volume scaled to one core: reads (autocannon, Zipf over users, closed loop) go as fast as the
 * server answers, and uploads trickle at a fixed low rate (default 0.4/s, open loop), which at
 * the ~40k reads/s one core serves is close to 100,000:1. The run measures reads alone, then
 * reads with the trickle, so the cost of uploads on read latency shows, and the upload latency
 * under read load. Server: `taskset -c 0`, ONEPIC_WORKERS=1; generators: `taskset -c 1`.
 * Also: BENCH_SKIP_BUILD=1, BENCH_RESULTS_DIR (see bench/lib/results.ts).
 */
import { register, uploadPicture, inParallel, type BenchUser } from './lib/api.js';
import { runAutocannon, statusCounts, type ReadRequest } from './lib/autocannon.js';
import { collectConditions, describeLoadTest, machineLoad } from './lib/conditions.js';
import { cpuSeconds } from './lib/cpu.js';
import { envNumber, logger } from './lib/env.js';
import { runUploadLoad, type LoadSummary } from './lib/http-load.js';
import { describeImages, imageFiles, phoneJpegs } from './lib/images.js';
import { stageDelta, stageMetrics } from './lib/metrics.js';
import { publish } from './lib/results.js';
import { buildServer, startServer } from './lib/server.js';
import { zipfSampler } from './lib/zipf.js';

const log = logger('bench:mixed');
const seconds = envNumber('BENCH_DURATION', 20);
const nUsers = envNumber('BENCH_USERS', 200);
const readConcurrency = envNumber('BENCH_READ_CONCURRENCY', 64);
const uploadRate = envNumber('BENCH_UPLOAD_RATE', 0.4);
const nImages = envNumber('BENCH_IMAGES', 10);

/** Zipf (s=1) over the users: a request list for autocannon, so some users are hot and most cold. */
function zipfReads(names: string[], n = 20000): ReadRequest[] {
  const draw = zipfSampler(names.length, 1);
  return Array.from({ length: n }, () => ({ path: `/${names[draw()]}?s=128`, headers: { Accept: 'image/webp,image/*' } }));
}

type ReadSummary = Omit<LoadSummary, 'ok' | 'slowest_start_ms_latency_ms_status' | 'latency_ms'> & {
  latency_ms: { p50: number; p99: number; p999: number; max: number };
  generator_core_utilisation: number;
};

async function reads(port: number, duration: number, requests: ReadRequest[]): Promise<ReadSummary> {
  const { result: r, cpuSeconds: genCpu, wallSeconds } = await runAutocannon({ url: `http://127.0.0.1:${port}`, connections: readConcurrency, duration, requests });
  const statuses = statusCounts(r);
  const total = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    requests: total, seconds: +wallSeconds.toFixed(2), rate_per_s: +(total / duration).toFixed(2),
    latency_ms: { p50: r.latency.p50, p99: r.latency.p99, p999: r.latency.p99_9, max: r.latency.max },
    statuses, errors: r.errors + r.timeouts, generator_core_utilisation: +(genCpu / wallSeconds).toFixed(2),
  };
}

buildServer();
log(`generating ${nImages} phone-style JPEGs...`);
const jpegs = await phoneJpegs(nImages);
const images = imageFiles(jpegs);
const server = await startServer();
try {
  log(`seeding ${nUsers} users with an active picture...`);
  const users: BenchUser[] = [];
  await inParallel(nUsers, 4, async (i) => {
    const name = `mx${i}`;
    const user = { name, token: await register(server.base, name) };
    const status = await uploadPicture(server.base, user, jpegs[i % jpegs.length] ?? Buffer.alloc(0));
    if (status !== 201) throw new Error(`seed upload for ${name}: ${status}`);
    users[i] = user;
  });
  const readList = zipfReads(users.map((u) => u.name));
  log('warm-up reads (2 s)...');
  await reads(server.port, 2, readList);

  const loadBefore = machineLoad();
  log(`phase A: reads only, ${seconds}s, ${readConcurrency} connections...`);
  let c0 = cpuSeconds(server.pid);
  const aReads = await reads(server.port, seconds, readList);
  const cpuA = cpuSeconds(server.pid) - c0;

  log(`phase B: reads + ${uploadRate} upload/s, ${seconds}s...`);
  const m0 = await stageMetrics(server.base);
  c0 = cpuSeconds(server.pid);
  const [bReads, bUploads] = await Promise.all([
    reads(server.port, seconds, readList),
    runUploadLoad({ port: server.port, seconds, concurrency: 1, ratePerSecond: uploadRate, users, images: images.files, userStride: 7919 }),
  ]);
  const cpuB = cpuSeconds(server.pid) - c0;
  const m1 = await stageMetrics(server.base);

  const uploaded = bUploads.statuses['201'];
  const result = {
    name: 'mixed',
    note: seconds < 20 || nUsers < 200 ? `short run (${seconds}s per phase, ${nUsers} users) to prove the script works; not a final figure` : undefined,
    scaling: 'Spec: 50,000 uploads/min (833/s) with 100,000 reads per upload (83.3M reads/s) across the fleet. '
      + `The mix is scaled to one core: reads as fast as the server answers them (autocannon, closed loop, ${readConcurrency} connections, Zipf s=1 over ${nUsers} users), `
      + `uploads an open-loop trickle at ${uploadRate}/s. The achieved reads per upload is reported; the per-core node count for the spec is `
      + 'reads_needed / read_rate + uploads_needed / upload_rate (see bench:upload).',
    conditions: collectConditions({
      server_env: { ONEPIC_WORKERS: 1, ONEPIC_METADATA: 'embedded', ONEPIC_BLOBS: 'fs (temp dir)' },
      concurrency: `reads ${readConcurrency} connections (closed loop), uploads ${uploadRate}/s (open loop)`, duration_s: seconds, users: nUsers,
      read_request: 'GET /{user}?s=128, Accept: image/webp,image/*, keep-alive',
      image: describeImages(jpegs),
      load_generator: 'reads: autocannon in its own process; uploads: node:http keep-alive in another; both on CPU 1',
      machine_load_before_run: loadBefore,
    }),
    reads_only: { ...aReads, server_cpu_s: +cpuA.toFixed(2), server_core_utilisation: +(cpuA / aReads.seconds).toFixed(2) },
    reads_with_uploads: { ...bReads, server_cpu_s: +cpuB.toFixed(2), server_core_utilisation: +(cpuB / bReads.seconds).toFixed(2) },
    uploads_under_read_load: bUploads,
    achieved_reads_per_upload: uploaded ? Math.round(bReads.requests / uploaded) : null,
    stages_during_mixed: { upload: stageDelta(m0, m1) },
  };

  const row = (label: string, x: { rate_per_s: number; latency_ms: { p50: number | null; p99: number | null; p999: number | null }; statuses: Record<string, number>; errors: number; server_core_utilisation?: number }): string =>
    `| ${label} | ${x.rate_per_s} | ${x.latency_ms.p50} | ${x.latency_ms.p99} | ${x.latency_ms.p999} | ${Object.entries(x.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')}${x.errors ? `, errors: ${x.errors}` : ''} | ${x.server_core_utilisation === undefined ? '' : `${Math.round(x.server_core_utilisation * 100)}%`} |`;
  const a = result.reads_only;
  const md = [
    `## Mixed benchmark (${result.conditions.date})`, '',
    result.note ? `> ${result.note}\n` : '',
    `Scaling: ${result.scaling}`, '',
    '| traffic | req/s | p50 ms | p99 ms | p99.9 ms | statuses | server core busy |', '|---|---|---|---|---|---|---|',
    row('reads only', a),
    row('reads with upload trickle', result.reads_with_uploads),
    row('uploads under read load', bUploads),
    '', a.server_core_utilisation < 0.9
      ? `The server core was not saturated in the reads-only phase (${Math.round(a.server_core_utilisation * 100)}% busy; autocannon used ${Math.round(a.generator_core_utilisation * 100)}% of its core): the read rate is the load generator's limit, not OnePic's; bench:read (wrk) measures OnePic's read ceiling.`
      : '',
    '', `Achieved reads per upload in the mixed phase: ${result.achieved_reads_per_upload ?? 'n/a'} (spec: 100,000).`, '',
    describeLoadTest(result.conditions),
  ].join('\n');
  publish('mixed', result, md);
} finally {
  await server.stop();
  images.remove();
}
