#!/usr/bin/env node
// Imaging micro-benchmark (issue 5): the upload pipeline of src/imaging, in-process, on one core.
//
//   npm run build && npm run bench:imaging
//   BENCH_ROUNDS=20 BENCH_BATCH=4 BENCH_CPU=0 npm run bench:imaging
//
// It imports the built code (dist/), so it measures exactly what the server runs, and re-executes
// itself under `taskset -c $BENCH_CPU` (default 0) like the server of the other benchmarks.
// Each case runs `processUpload` in rounds; every round runs each case BENCH_BATCH times, one case
// after the other, so a burst of load from other processes hits all cases alike. Figures are
// medians over rounds (min in brackets): CPU ms is the whole process's user+system time per
// upload (all threads: the libuv thread sharp runs on and libvips' own), which is what a core
// pays; wall ms is the time the caller waits. Stage columns are the wall times processUpload
// reports for its stages (the onepic_transcode_stage_seconds metric).
//
// Rows: the target image (bench/upload.mjs phoneJpegs(): 1600x1200 JPEG q85, EXIF orientation 6,
// an sRGB ICC profile as sharp writes it), the same pixels without a profile, with a Display P3
// profile, with orientation 1, and a 12-megapixel phone photo; then the target through the
// piscina pool (one worker thread, as the server runs it), the target and the 12-megapixel
// photo with larger masters than the default (ONEPIC_MASTER_SIZE), and with libvips allowed 2
// and 4 threads per image instead of the 1 the worker sets. BENCH_MASTER_SIZE overrides the
// master side of every other row (default: the server's default).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { phoneJpegs, otherBusy, writeResults, envInt } from './upload.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
const CPU = process.env.BENCH_CPU ?? '0';

if (process.env.BENCH_PINNED !== '1') {
  const run = spawnSync('taskset', ['-c', CPU, process.execPath, SELF, ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, BENCH_PINNED: '1' },
  });
  process.exit(run.status ?? 1);
}

const safeExec = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', cwd: ROOT }).trim(); } catch { return ''; } };
const dist = (path) => import(pathToFileURL(join(ROOT, 'dist', path)).href);

const sharp = (await import('sharp')).default;
const { processUpload } = await dist('imaging/process-upload.js');
const { ImagingPool } = await dist('imaging/pool.js');
const { loadConfig } = await dist('config/index.js');
const limits = { maxPixels: 50_000_000, minSide: 16, maxFrames: 1000, masterSize: envInt('BENCH_MASTER_SIZE', loadConfig({}).imaging.masterSize) };

const ROUNDS = envInt('BENCH_ROUNDS', 15);
const BATCH = envInt('BENCH_BATCH', 4);

// ---------- images ----------
console.error('making images...');
const [target] = await phoneJpegs(1);
// The same stored pixels and EXIF, re-encoded once more: without a profile, and converted to Display P3.
const noProfile = await sharp(target).keepExif().jpeg({ quality: 85 }).toBuffer();
const displayP3 = await sharp(target).keepExif().withIccProfile('p3').jpeg({ quality: 85 }).toBuffer();
const upright = await sharp(target).autoOrient().withIccProfile('srgb').jpeg({ quality: 85 }).toBuffer();
const [twelveMp] = await phoneJpegs(1, 4032, 3024);

const cases = [
  { name: 'phone 1600x1200, orientation 6, sRGB profile (target)', input: target },
  { name: 'same, no ICC profile', input: noProfile },
  { name: 'same, Display P3 profile', input: displayP3 },
  { name: 'same, orientation 1 (upright)', input: upright },
  { name: 'phone 4032x3024 (12 MP), orientation 6, sRGB profile', input: twelveMp },
];
for (const c of cases) {
  const meta = await sharp(c.input).metadata();
  c.image = { bytes: c.input.length, width: meta.width, height: meta.height, orientation: meta.orientation ?? 1, icc_bytes: meta.icc?.length ?? 0 };
}

// ---------- measuring ----------
function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; }
const round2 = (x) => +x.toFixed(2);

/** Runs each job BATCH times per round, interleaved; returns per-op CPU and wall ms and the stage means. */
async function measure(jobs) {
  for (const job of jobs) for (let i = 0; i < 3; i++) await job.run(); // warm-up
  const samples = jobs.map(() => ({ cpu: [], wall: [], stages: {} }));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [j, job] of jobs.entries()) {
      const c0 = process.cpuUsage(); const w0 = performance.now();
      for (let i = 0; i < BATCH; i++) {
        const timings = await job.run();
        for (const [stage, s] of Object.entries(timings ?? {})) (samples[j].stages[stage] ??= []).push(s * 1000);
      }
      const c = process.cpuUsage(c0);
      samples[j].cpu.push((c.user + c.system) / 1000 / BATCH);
      samples[j].wall.push((performance.now() - w0) / BATCH);
    }
  }
  return samples.map((s) => ({
    cpu_ms: round2(median(s.cpu)), cpu_ms_min: round2(Math.min(...s.cpu)),
    wall_ms: round2(median(s.wall)), wall_ms_min: round2(Math.min(...s.wall)),
    uploads_per_s_per_core: round2(1000 / median(s.cpu)),
    stages_ms: Object.fromEntries(Object.entries(s.stages).map(([k, v]) => [k, round2(median(v))])),
  }));
}

// As the worker sets it: one libvips thread per image, no operation cache.
sharp.concurrency(1);
sharp.cache(false);
const loadBefore = { loadavg_1_5_15: loadavg().map((x) => +x.toFixed(2)), other_busy_processes: otherBusy() };

console.error(`in-process, ${ROUNDS} rounds x ${BATCH}...`);
const inProcess = await measure(cases.map((c) => ({ run: async () => (await processUpload(c.input, limits)).timings })));
const rows = cases.map((c, i) => ({ name: c.name, image: c.image, ...inProcess[i] }));

const outputs = [];
for (const c of cases) {
  const { result } = await processUpload(c.input, limits);
  outputs.push({ name: c.name, side: result.side, format: result.format, master_bytes: result.master.length });
}

console.error('through the pool (1 worker thread), and libvips threads per image...');
const pool = new ImagingPool({ threads: 1, maxQueue: 4, limits });
const variants = [
  { name: 'target through the pool (1 worker thread)', run: async () => { await pool.processUpload(target); } },
  ...[1024, 2048].filter((side) => side !== limits.masterSize).map((side) => ({
    name: `target in-process, master side ${side}`,
    run: async () => (await processUpload(target, { ...limits, masterSize: side })).timings,
  })),
  { name: 'phone 4032x3024 (12 MP) in-process, master side 1024', run: async () => (await processUpload(twelveMp, { ...limits, masterSize: 1024 })).timings },
  ...[1, 2, 4].map((threads) => ({
    name: `target in-process, sharp.concurrency(${threads})`,
    run: async () => { sharp.concurrency(threads); try { return (await processUpload(target, limits)).timings; } finally { sharp.concurrency(1); } },
  })),
];
const variantResults = await measure(variants);
await pool.close();
rows.push(...variants.map((v, i) => ({ name: v.name, ...variantResults[i] })));

// ---------- report ----------
const cpuModel = /model name\s*:\s*(.*)/.exec(safeExec('cat', ['/proc/cpuinfo']))?.[1] ?? cpus()[0]?.model ?? 'unknown';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const result = {
  name: 'imaging',
  conditions: {
    date: new Date().toISOString(),
    machine: { nproc: cpus().length, cpu_model: cpuModel, kernel: safeExec('uname', ['-r']) },
    versions: {
      node: process.version, onepic: pkg.version, onepic_commit: safeExec('git', ['rev-parse', '--short', 'HEAD']),
      // dist/ is built from the working tree: uncommitted source changes are part of what ran.
      uncommitted_src: safeExec('git', ['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean),
      sharp: sharp.versions.sharp, libvips: sharp.versions.vips, jpeg: sharp.versions.mozjpeg ? `mozjpeg ${sharp.versions.mozjpeg}` : 'libjpeg-turbo',
    },
    pinning: `taskset -c ${CPU} (this process and all its threads)`,
    sharp: 'concurrency(1), cache(false), as in the worker, unless the row says otherwise',
    rounds: ROUNDS, batch: BATCH, limits,
    machine_load_before_run: loadBefore,
    machine_load_after_run: { loadavg_1_5_15: loadavg().map((x) => +x.toFixed(2)), other_busy_processes: otherBusy() },
  },
  rows,
  outputs,
};

const stageNames = ['sniff', 'probe', 'transcode', 'decode_resize', 'encode'];
const md = [
  `## Imaging benchmark (${result.conditions.date})`, '',
  '| case | CPU ms/upload | uploads/s per core | wall ms | ' + stageNames.join(' | ') + ' (ms) |',
  '|---|---|---|---|' + stageNames.map(() => '---|').join(''),
  ...rows.map((r) => `| ${r.name} | ${r.cpu_ms} (${r.cpu_ms_min}) | ${r.uploads_per_s_per_core} | ${r.wall_ms} (${r.wall_ms_min}) | `
    + stageNames.map((s) => r.stages_ms[s] ?? '').join(' | ') + ' |'),
  '', '| case | master | bytes |', '|---|---|---|',
  ...outputs.map((o) => `| ${o.name} | ${o.side}x${o.side} ${o.format} | ${o.master_bytes} |`),
  '', conditionsText(result.conditions),
].join('\n');
console.log(md);
writeResults('imaging', result, md);

function conditionsText(c) {
  const load = (when, l) => `Load average ${when} ${l.loadavg_1_5_15.join(' / ')}`
    + (l.other_busy_processes.length ? `, other busy processes (figures skewed by them): ${l.other_busy_processes.join('; ')}.` : ', no other busy processes.');
  const v = c.versions;
  return `Medians over ${c.rounds} rounds of ${c.batch} uploads each (min in brackets). `
    + `Conditions: ${c.machine.nproc} CPUs (${c.machine.cpu_model}), Linux ${c.machine.kernel}; Node ${v.node}, `
    + `OnePic ${v.onepic} (${v.onepic_commit}${v.uncommitted_src.length ? ` plus uncommitted ${v.uncommitted_src.join(', ')}` : ''}), `
    + `sharp ${v.sharp}, libvips ${v.libvips}, ${v.jpeg}; ${c.pinning}; sharp ${c.sharp}; master side ${c.limits.masterSize}. `
    + `${load('before the run', c.machine_load_before_run)} ${load('after the run', c.machine_load_after_run)} `
    + 'Reproduce: `npm run build && npm run bench:imaging` (see the header of bench/imaging.mjs).';
}
