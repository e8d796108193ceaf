/**
 * Imaging micro-benchmark (issue 5): the upload pipeline of src/imaging, in-process, on one core.
 *
 *   npm run bench:imaging
 *   BENCH_ROUNDS=15 BENCH_BATCH=4 BENCH_CPU=0 BENCH_MASTER_SIZE=768 npm run bench:imaging
 *
 * It imports the built code (dist/, built first unless BENCH_SKIP_BUILD=1; see bench/lib/built.ts),
 * so it measures exactly what the server runs, and re-executes itself under `taskset -c $BENCH_CPU`
 * (default 0) like the server of the other benchmarks. Each case runs `processUpload` in rounds;
 * every round runs each case BENCH_BATCH times, one case after the other, so a burst of load
 * from other processes hits all cases alike. Figures are medians over rounds (min in brackets):
 * CPU ms is the whole process's user+system time per upload (all threads: the libuv thread sharp
 * runs on and libvips' own), which is what a core pays; wall ms is the time the caller waits.
 * Stage columns are the wall times processUpload reports for its stages (the
 * onepic_transcode_stage_seconds metric).
 *
 * Rows: the target image (bench/lib/images.ts phoneJpegs(): 1600x1200 JPEG q85, EXIF orientation
 * 6, an sRGB ICC profile as sharp writes it), the same pixels without a profile, with a Display
 * P3 profile, with orientation 1, and a 12-megapixel phone photo; then the target through the
 * piscina pool (one worker thread, as the server runs it), the target and the 12-megapixel photo
 * with larger masters than the default (ONEPIC_MASTER_SIZE), and with libvips allowed 2 and 4
 * threads per image instead of the 1 the worker sets. BENCH_MASTER_SIZE overrides the master
 * side of every other row (default: the server's default). Also: BENCH_RESULTS_DIR.
 */
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { importBuilt } from './lib/built.js';
import { collectConditions, describeLoad, describeMachine, machineLoad } from './lib/conditions.js';
import { runSelfPinned } from './lib/cpu.js';
import { envNumber, logger } from './lib/env.js';
import { phoneJpegs } from './lib/images.js';
import { publish } from './lib/results.js';
import { buildServer } from './lib/server.js';

const CPU = process.env.BENCH_CPU ?? '0';
runSelfPinned(CPU, buildServer);

const log = logger('bench:imaging');
const { processUpload } = await importBuilt('imaging/process-upload.js');
const { ImagingPool } = await importBuilt('imaging/pool.js');
const { loadConfig } = await importBuilt('config/index.js');
const { threads: _threads, maxQueue: _maxQueue, ...defaults } = loadConfig({}).imaging;
const limits = { ...defaults, masterSize: envNumber('BENCH_MASTER_SIZE', defaults.masterSize) };
const ROUNDS = envNumber('BENCH_ROUNDS', 15);
const BATCH = envNumber('BENCH_BATCH', 4);

log('making images...');
const [target] = await phoneJpegs(1);
const [twelveMp] = await phoneJpegs(1, 4032, 3024);
if (!target || !twelveMp) throw new Error('no images');
// The same stored pixels and EXIF, re-encoded once more: without a profile, and converted to Display P3.
const noProfile = await sharp(target).keepExif().jpeg({ quality: 85 }).toBuffer();
const displayP3 = await sharp(target).keepExif().withIccProfile('p3').jpeg({ quality: 85 }).toBuffer();
const upright = await sharp(target).autoOrient().withIccProfile('srgb').jpeg({ quality: 85 }).toBuffer();

const cases = [
  { name: 'phone 1600x1200, orientation 6, sRGB profile (target)', input: target },
  { name: 'same, no ICC profile', input: noProfile },
  { name: 'same, Display P3 profile', input: displayP3 },
  { name: 'same, orientation 1 (upright)', input: upright },
  { name: 'phone 4032x3024 (12 MP), orientation 6, sRGB profile', input: twelveMp },
];
const described = await Promise.all(cases.map(async (c) => {
  const meta = await sharp(c.input).metadata();
  return { bytes: c.input.length, width: meta.width, height: meta.height, orientation: meta.orientation ?? 1, icc_bytes: meta.icc?.length ?? 0 };
}));

type Timings = Partial<Record<string, number>> | undefined;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;
const round2 = (x: number): number => +x.toFixed(2);

/** Runs each job BATCH times per round, interleaved; returns per-op CPU and wall ms and the stage medians. */
async function measure(jobs: Array<{ run: () => Promise<Timings> }>) {
  for (const job of jobs) for (let i = 0; i < 3; i++) await job.run(); // warm-up
  const samples = jobs.map(() => ({ cpu: [] as number[], wall: [] as number[], stages: {} as Record<string, number[]> }));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [j, job] of jobs.entries()) {
      const s = samples[j];
      if (!s) continue;
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      for (let i = 0; i < BATCH; i++) {
        for (const [stage, seconds] of Object.entries((await job.run()) ?? {})) (s.stages[stage] ??= []).push((seconds ?? 0) * 1000);
      }
      const c = process.cpuUsage(c0);
      s.cpu.push((c.user + c.system) / 1000 / BATCH);
      s.wall.push((performance.now() - w0) / BATCH);
    }
  }
  return samples.map((s) => ({
    cpu_ms: round2(median(s.cpu)), cpu_ms_min: round2(Math.min(...s.cpu)),
    wall_ms: round2(median(s.wall)), wall_ms_min: round2(Math.min(...s.wall)),
    uploads_per_s_per_core: round2(1000 / median(s.cpu)),
    stages_ms: Object.fromEntries(Object.entries(s.stages).map(([k, v]) => [k, round2(median(v))])) as Record<string, number>,
  }));
}

// As the worker sets it: one libvips thread per image, no operation cache.
sharp.concurrency(1);
sharp.cache(false);
const loadBefore = machineLoad();

log(`in-process, ${ROUNDS} rounds x ${BATCH}...`);
const inProcess = await measure(cases.map((c) => ({ run: async () => (await processUpload(c.input, limits)).timings })));
const rows: Array<{ name: string; image?: unknown } & (typeof inProcess)[number]> = cases.map((c, i) => ({ name: c.name, image: described[i], ...inProcess[i]! }));

const outputs = [];
for (const c of cases) {
  const { result } = await processUpload(c.input, limits);
  outputs.push({ name: c.name, side: result.side, format: result.format, master_bytes: result.master.length });
}

log('through the pool (1 worker thread), and libvips threads per image...');
const pool = new ImagingPool({ threads: 1, maxQueue: 4, limits });
const variants = [
  { name: 'target through the pool (1 worker thread)', run: async (): Promise<Timings> => { await pool.processUpload(target); return undefined; } },
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
rows.push(...variants.map((v, i) => ({ name: v.name, ...variantResults[i]! })));

const result = {
  name: 'imaging',
  conditions: collectConditions({
    versions: { sharp: sharp.versions.sharp, libvips: sharp.versions.vips, jpeg: sharp.versions.mozjpeg ? `mozjpeg ${sharp.versions.mozjpeg}` : 'libjpeg-turbo' },
    pinning: `taskset -c ${CPU} (this process and all its threads)`,
    sharp: 'concurrency(1), cache(false), as in the worker, unless the row says otherwise',
    rounds: ROUNDS, batch: BATCH, limits,
    machine_load_before_run: loadBefore,
  }),
  rows,
  outputs,
};

const c = result.conditions;
const stageNames = ['sniff', 'probe', 'transcode', 'decode_resize', 'encode'];
const md = [
  `## Imaging benchmark (${c.date})`, '',
  `| case | CPU ms/upload | uploads/s per core | wall ms | ${stageNames.join(' | ')} (ms) |`,
  `|---|---|---|---|${stageNames.map(() => '---|').join('')}`,
  ...rows.map((r) => `| ${r.name} | ${r.cpu_ms} (${r.cpu_ms_min}) | ${r.uploads_per_s_per_core} | ${r.wall_ms} (${r.wall_ms_min}) | `
    + `${stageNames.map((s) => r.stages_ms[s] ?? '').join(' | ')} |`),
  '', '| case | master | bytes |', '|---|---|---|',
  ...outputs.map((o) => `| ${o.name} | ${o.side}x${o.side} ${o.format} | ${o.master_bytes} |`),
  '',
  `Medians over ${c.rounds} rounds of ${c.batch} uploads each (min in brackets). Conditions: ${describeMachine(c)}, `
  + `sharp ${c.versions.sharp}, libvips ${String(c.versions.libvips)}, ${String(c.versions.jpeg)}; ${c.pinning}; sharp ${c.sharp}; master side ${limits.masterSize}. `
  + `${describeLoad(c)} Reproduce: \`npm run bench:imaging\` (see the header of bench/imaging.ts).`,
].join('\n');
publish('imaging', result, md);
