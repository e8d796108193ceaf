/**
 * Upload benchmark (issue 5): phone-style JPEGs through the real pipeline, server on one core.
 *
 *   npm run bench:upload                         # defaults below
 *   BENCH_DURATION=20 BENCH_CONCURRENCY=4 BENCH_IMAGES=20 BENCH_UPLOAD_USERS=4 npm run bench:upload
 *   BENCH_MASTER_SIZE=1024 npm run bench:upload  # server with ONEPIC_MASTER_SIZE=1024; results as upload-master1024-*
 *
 * The server runs as `taskset -c 0 node dist/main.js` with ONEPIC_WORKERS=1 (one imaging thread,
 * so the figure is "uploads per second per core"), embedded stores in a temp dir. The load
 * generator is a separate process on CPU 1 (bench/lib/http-load.ts: node:http keep-alive,
 * closed loop). Also: BENCH_SKIP_BUILD=1, BENCH_RESULTS_DIR (see bench/lib/results.ts).
 */
import { listPictures, register, uploadPicture, type BenchUser } from './lib/api.js';
import { collectConditions, describeLoadTest, machineLoad } from './lib/conditions.js';
import { cpuSeconds } from './lib/cpu.js';
import { envNumber, logger } from './lib/env.js';
import { runUploadLoad } from './lib/http-load.js';
import { describeImages, imageFiles, phoneJpegs } from './lib/images.js';
import { stageDelta, stageMetrics, storeDelta, storeMetrics } from './lib/metrics.js';
import { publish } from './lib/results.js';
import { buildServer, startServer } from './lib/server.js';

const log = logger('bench:upload');
const seconds = envNumber('BENCH_DURATION', 20);
const concurrency = envNumber('BENCH_CONCURRENCY', 4);
const nImages = envNumber('BENCH_IMAGES', 20);
const nUsers = envNumber('BENCH_UPLOAD_USERS', 4);
const masterSize = process.env.BENCH_MASTER_SIZE || undefined;

buildServer();
log(`generating ${nImages} phone-style JPEGs...`);
const jpegs = await phoneJpegs(nImages);
const images = imageFiles(jpegs);
const server = await startServer(masterSize ? { env: { ONEPIC_MASTER_SIZE: masterSize } } : {});
try {
  const users: BenchUser[] = [];
  for (let i = 0; i < nUsers; i++) { const name = `up${i}`; users.push({ name, token: await register(server.base, name) }); }
  const first = users[0];
  const firstJpeg = jpegs[0];
  if (!first || !firstJpeg) throw new Error('BENCH_UPLOAD_USERS and BENCH_IMAGES must be at least 1');
  // Warm-up: one upload so the worker thread and sharp are loaded.
  await uploadPicture(server.base, first, firstJpeg);
  const masterSide = (await listPictures(server.base, first))[0]?.width;
  const loadBefore = machineLoad();
  const m0 = await stageMetrics(server.base);
  const s0 = await storeMetrics(server.base);
  const c0 = cpuSeconds(server.pid);
  log(`driving uploads: concurrency ${concurrency}, ${seconds}s...`);
  const r = await runUploadLoad({ port: server.port, seconds, concurrency, users, images: images.files, userStride: 1 });
  const cpu = cpuSeconds(server.pid) - c0;
  const m1 = await stageMetrics(server.base);
  const s1 = await storeMetrics(server.base);
  const created = r.statuses['201'] ?? 0;
  const result = {
    name: 'upload',
    note: seconds < 20 ? `short run (${seconds}s) to prove the script works; not a final figure` : undefined,
    conditions: collectConditions({
      server_env: { ONEPIC_WORKERS: 1, ONEPIC_METADATA: 'embedded', ONEPIC_BLOBS: 'fs (temp dir)', ONEPIC_MASTER_SIZE: masterSize ?? 'default' },
      master_side: masterSide,
      concurrency, duration_s: seconds, users: nUsers,
      image: describeImages(jpegs),
      load_generator: 'node:http keep-alive, closed loop',
      machine_load_before_run: loadBefore,
    }),
    uploads_per_s: +(created / r.seconds).toFixed(2),
    latency_ms: r.latency_ms, slowest_start_ms_latency_ms_status: r.slowest_start_ms_latency_ms_status, statuses: r.statuses, errors: r.errors, requests: r.requests,
    server_cpu_s: +cpu.toFixed(2), server_core_utilisation: +(cpu / r.seconds).toFixed(2), server_cpu_ms_per_upload: created ? +((cpu / created) * 1000).toFixed(1) : null,
    stages: stageDelta(m0, m1),
    store_operations: storeDelta(s0, s1),
  };
  const c = result.conditions;
  const md = [
    `## Upload benchmark (${c.date})`, '',
    result.note ? `> ${result.note}\n` : '',
    '| metric | value |', '|---|---|',
    `| uploads/s (201s, server on 1 core, 1 imaging thread) | ${result.uploads_per_s} |`,
    `| master side (px) | ${c.master_side}${c.server_env.ONEPIC_MASTER_SIZE === 'default' ? ' (the default)' : ''} |`,
    `| latency p50 / p99 / max (ms) | ${r.latency_ms.p50} / ${r.latency_ms.p99} / ${r.latency_ms.max} |`,
    `| statuses | ${Object.entries(r.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')}${r.errors ? `, socket errors: ${r.errors}` : ''} |`,
    `| server CPU per upload (ms) | ${result.server_cpu_ms_per_upload} (${result.server_cpu_s} s total) |`,
    `| five slowest (started at ms, took ms) | ${r.slowest_start_ms_latency_ms_status.map(([t, ms]) => `${t}: ${ms}`).join('; ')} |`,
    `| server core utilisation | ${Math.round(result.server_core_utilisation * 100)}%${result.server_core_utilisation < 0.9 ? ' (not saturated: the bottleneck was elsewhere)' : ''} |`,
    '', '| stage (job="upload") | count | mean ms | total s |', '|---|---|---|---|',
    ...Object.entries(result.stages).map(([s, v]) => `| ${s} | ${v.count} | ${v.mean_ms} | ${v.sum_s} |`),
    '', '| store operation | count | mean ms | slowest under (ms, histogram bound) |', '|---|---|---|---|',
    ...Object.entries(result.store_operations).map(([op, v]) => `| ${op} | ${v.count} | ${v.mean_ms} | ${v.max_under_ms} |`),
    '', describeLoadTest(c),
  ].join('\n');
  publish(masterSize ? `upload-master${masterSize}` : 'upload', result, md);
} finally {
  await server.stop();
  images.remove();
}
