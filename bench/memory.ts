/**
 * Native memory benchmark (issue 13, item 6): the server's resident set under rounds of large
 * renders, with each allocator setting, to choose the one `npm start`, the Dockerfile and the
 * manifests set and to size the Kubernetes memory limit from the worst case.
 *
 *   npm run bench:memory
 *   BENCH_ROUNDS=6 BENCH_PICTURES=8 BENCH_WORKERS=2 npm run bench:memory
 *
 * For each setting (glibc's default malloc, MALLOC_ARENA_MAX=2, jemalloc by LD_PRELOAD when
 * the library is installed) it starts the built server (bench/lib/server.ts, unpinned, with
 * BENCH_WORKERS imaging threads), uploads BENCH_PICTURES noisy photos, then runs BENCH_ROUNDS
 * rounds; a round asks each picture for png, avif and webp at sizes near 2048 not asked before
 * (so each is a fresh render and a fresh stored rendition), 4 requests in flight. The server's
 * VmRSS is sampled every 50 ms: peak and final (2 s after the round) per round are reported.
 */
import { existsSync, readFileSync } from 'node:fs';
import { register, uploadPicture, inParallel, type BenchUser } from './lib/api.js';
import { collectConditions, describeLoad, describeMachine, machineLoad } from './lib/conditions.js';
import { envNumber, logger } from './lib/env.js';
import { sleep } from './lib/exec.js';
import { phoneJpegs } from './lib/images.js';
import { publish } from './lib/results.js';
import { buildServer, startServer } from './lib/server.js';

const log = logger('bench:memory');
const ROUNDS = envNumber('BENCH_ROUNDS', 4);
const PICTURES = envNumber('BENCH_PICTURES', 6);
const WORKERS = envNumber('BENCH_WORKERS', 2);
const FORMATS = ['png', 'avif', 'webp'];
const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

const settings: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'glibc malloc, default arenas', env: {} },
  { name: 'glibc malloc, MALLOC_ARENA_MAX=2', env: { MALLOC_ARENA_MAX: '2' } },
];
if (existsSync(JEMALLOC)) settings.push({ name: 'jemalloc 5 (LD_PRELOAD)', env: { LD_PRELOAD: JEMALLOC } });
else log(`${JEMALLOC} is missing: jemalloc not measured (apt-get install libjemalloc2)`);

// Each setting names all it sets: nothing inherited from the shell that runs the benchmark.
delete process.env.MALLOC_ARENA_MAX;
delete process.env.LD_PRELOAD;

const rssMiB = (pid: number): number => {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Math.round(Number(kb) / 1024) : 0;
};

interface Round { round: number; renders: number; failed: number; peak_rss_mib: number; final_rss_mib: number }

async function measure(env: Record<string, string>, images: Buffer[]): Promise<Round[]> {
  const server = await startServer({ pinned: false, env: { ONEPIC_WORKERS: String(WORKERS), ...env } });
  try {
    const users: BenchUser[] = [];
    for (const [i, image] of images.entries()) {
      const name = `mem${i}`;
      const user = { name, token: await register(server.base, name) };
      if ((await uploadPicture(server.base, user, image)) !== 201) throw new Error(`upload for ${name} failed`);
      users.push(user);
    }
    const rounds: Round[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Sizes not asked in earlier rounds: each request renders and stores a new rendition.
      const sizes = [2048 - (round - 1) * 2, 2047 - (round - 1) * 2];
      const asks = users.flatMap((u) => FORMATS.flatMap((f) => sizes.map((s) => `${server.base}/${u.name}.${f}?s=${s}`)));
      let peak = 0;
      let failed = 0;
      const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(server.pid)); }, 50);
      await inParallel(asks.length, 4, async (i) => {
        const r = await fetch(asks[i]!);
        await r.arrayBuffer();
        if (r.status !== 200) failed++;
      });
      await sleep(2000);
      clearInterval(sampler);
      const final = rssMiB(server.pid);
      rounds.push({ round, renders: asks.length, failed, peak_rss_mib: Math.max(peak, final), final_rss_mib: final });
      log(`round ${round}: peak ${Math.max(peak, final)} MiB, final ${final} MiB, ${failed} failed`);
    }
    return rounds;
  } finally {
    await server.stop();
  }
}

buildServer();
const before = machineLoad();
log(`making ${PICTURES} images...`);
const images = await phoneJpegs(PICTURES, 1600, 1200, 40);
const results: Array<{ setting: string; env: Record<string, string>; rounds: Round[] }> = [];
for (const s of settings) {
  log(s.name);
  results.push({ setting: s.name, env: s.env, rounds: await measure(s.env, images) });
}

const conditions = collectConditions({
  machine_load_before_run: before, rounds: ROUNDS, pictures: PICTURES, imaging_threads: WORKERS, formats: FORMATS,
  sizes: 'two sizes a round, from 2048 down', in_flight: 4, sample_interval_ms: 50,
});
const md = [
  '# Native memory under large renders',
  '',
  `Server RSS in MiB (VmRSS sampled every 50 ms): ${ROUNDS} rounds; a round renders each of ${PICTURES} pictures (1600x1200 noisy JPEG uploads, `
    + `masters at the default size) as ${FORMATS.join(', ')} at two sizes near 2048 not asked before, 4 requests in flight, ${WORKERS} imaging threads. `
    + 'Final is 2 s after the round\'s last answer.',
  '',
  `| setting | ${results[0]!.rounds.map((r) => `round ${r.round} peak / final`).join(' | ')} | worst peak |`,
  `|---|${results[0]!.rounds.map(() => '---:').join('|')}|---:|`,
  ...results.map((r) => `| ${r.setting} | ${r.rounds.map((x) => `${x.peak_rss_mib} / ${x.final_rss_mib}${x.failed ? ` (${x.failed} failed)` : ''}`).join(' | ')} | `
    + `${Math.max(...r.rounds.map((x) => x.peak_rss_mib))} |`),
  '',
  `Conditions: ${describeMachine(conditions)}. ${describeLoad(conditions)}`,
].join('\n');
publish('memory', { conditions, results }, md);
