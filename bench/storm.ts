/**
 * Storm benchmark (issue 13, item 1): other users' cached-hit latency and upload latency, quiet
 * and then during an anonymous render storm on one picture (every size 1..2048 in all four
 * formats, through `/{user}` and `/i/{key}`).
 *
 *   npm run bench:storm
 *   BENCH_DURATION=30 BENCH_STORM_RATE=100 BENCH_STORM_CONNECTIONS=32 BENCH_WORKERS=2 npm run bench:storm
 *
 * Each phase runs BENCH_DURATION seconds: sequential cache-hit GETs of another user's picture
 * over one kept-alive connection (this process), and one upload of a phone-style JPEG every
 * 2 s by that user. The storm is open loop at BENCH_STORM_RATE requests/s over at most
 * BENCH_STORM_CONNECTIONS connections, in its own process on the load generator's CPU; the
 * server is pinned to its own CPU. Also: BENCH_SKIP_BUILD=1, BENCH_RESULTS_DIR.
 */
import { spawn } from 'node:child_process';
import { Agent, get } from 'node:http';
import { join } from 'node:path';
import { register, uploadPicture, type BenchUser } from './lib/api.js';
import { collectConditions, describeLoad, describeMachine, machineLoad } from './lib/conditions.js';
import { LOADGEN_CPU } from './lib/cpu.js';
import { envFlag, envNumber, logger } from './lib/env.js';
import { phoneJpegs } from './lib/images.js';
import { publish } from './lib/results.js';
import { ROOT } from './lib/root.js';
import { buildServer, startServer } from './lib/server.js';

const log = logger('bench:storm');
const seconds = envNumber('BENCH_DURATION', 30);
const stormRate = envNumber('BENCH_STORM_RATE', 100);
const stormConnections = envNumber('BENCH_STORM_CONNECTIONS', 32);
const workers = envNumber('BENCH_WORKERS', 2);

// The storm client both this benchmark and the hostile test run.
const STORM_CLIENT = join(ROOT, 'scripts/load/storm-client.mjs');

function stormPaths(user: string, hash: string): string[] {
  const exts = ['jpg', 'png', 'webp', 'avif'];
  return Array.from({ length: 2048 }, (_, i) => {
    const size = 1 + ((i * 997) % 2048);
    const ext = exts[i % 4]!;
    return i % 2 === 0 ? `/${user}.${ext}?s=${size}` : `/i/${user}.${hash}.${size}.${ext}`;
  });
}

function storm(base: string, paths: string[], ms: number): Promise<Record<string, number>> {
  const args = ['-c', LOADGEN_CPU, process.execPath, STORM_CLIENT, base, String(ms), String(stormRate), String(stormConnections), JSON.stringify(paths)];
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', () => { try { resolve(JSON.parse(out) as Record<string, number>); } catch (err) { reject(err); } });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const hitOnce = (url: string) => new Promise<number>((resolve, reject) => {
  const started = performance.now();
  get(url, { agent }, (res) => res.resume().on('end', () => resolve(performance.now() - started))).on('error', reject);
});

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN;

interface Phase { hits: number; hit_p50_ms: number; hit_p99_ms: number; uploads: Record<string, number>; upload_p50_ms: number; upload_p99_ms: number; storm?: Record<string, number> }

async function phase(base: string, hitUrl: string, user: BenchUser, images: Buffer[], ms: number): Promise<Omit<Phase, 'storm'>> {
  const end = Date.now() + ms;
  const hits: number[] = [];
  const uploadTimes: number[] = [];
  const uploads: Record<string, number> = {};
  const uploading = (async () => {
    for (let i = 0; Date.now() < end; i++) {
      const started = performance.now();
      const status = await uploadPicture(base, user, images[i % images.length]!);
      uploadTimes.push(performance.now() - started);
      uploads[status] = (uploads[status] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  while (Date.now() < end) hits.push(await hitOnce(hitUrl));
  await uploading;
  const r = (x: number) => +x.toFixed(2);
  return {
    hits: hits.length, hit_p50_ms: r(quantile(hits, 0.5)), hit_p99_ms: r(quantile(hits, 0.99)),
    uploads, upload_p50_ms: r(quantile(uploadTimes, 0.5)), upload_p99_ms: r(quantile(uploadTimes, 0.99)),
  };
}

if (!envFlag('BENCH_SKIP_BUILD')) buildServer();
const loadBefore = machineLoad();
const server = await startServer({ env: { ONEPIC_WORKERS: String(workers) } });
try {
  const images = await phoneJpegs(4);
  const target: BenchUser = { name: 'stormed', token: await register(server.base, 'stormed') };
  const bystander: BenchUser = { name: 'bystander', token: await register(server.base, 'bystander') };
  await uploadPicture(server.base, target, images[0]!);
  await uploadPicture(server.base, bystander, images[1]!);
  const listed = await (await fetch(`${server.base}/api/v1/users/stormed/pictures`, { headers: { Authorization: `Bearer ${target.token}` } })).json() as { pictures?: Array<{ url: string }> } | Array<{ url: string }>;
  const url = (Array.isArray(listed) ? listed : listed.pictures ?? [])[0]?.url ?? '';
  const hash = url.split('.')[1] ?? '';
  const hitUrl = `${server.base}/bystander.jpg?s=128`;
  for (let i = 0; i < 50; i++) await hitOnce(hitUrl);

  log(`quiet phase, ${seconds} s`);
  const quiet = await phase(server.base, hitUrl, bystander, images, seconds * 1000);
  log(`storm phase, ${seconds} s at ${stormRate} requests/s`);
  const stormDone = storm(server.base, stormPaths('stormed', hash), seconds * 1000);
  const during: Phase = await phase(server.base, hitUrl, bystander, images, seconds * 1000);
  during.storm = await stormDone;

  const conditions = collectConditions({
    duration_s: seconds, storm_rate: stormRate, storm_connections: stormConnections, workers,
    machine_load_before_run: loadBefore,
    note: seconds < 30 ? `short run (${seconds}s per phase) to prove the script works; not a final figure` : undefined,
  });
  const row = (name: string, p: Phase | Omit<Phase, 'storm'>) =>
    `| ${name} | ${p.hits} | ${p.hit_p50_ms} | ${p.hit_p99_ms} | ${JSON.stringify(p.uploads)} | ${p.upload_p50_ms} | ${p.upload_p99_ms} |`;
  const markdown = [
    '# Storm benchmark', '',
    `${describeMachine(conditions)}. ${describeLoad(conditions)}`, '',
    `Server pinned to one CPU, ONEPIC_WORKERS=${workers}; storm ${stormRate} requests/s open loop over at most ${stormConnections} connections on the other CPU; probes and uploads from the benchmark process. ${seconds} s per phase.${conditions.note ? ` **${conditions.note}.**` : ''}`, '',
    '| phase | cache hits | hit p50 ms | hit p99 ms | uploads by status | upload p50 ms | upload p99 ms |',
    '|---|---|---|---|---|---|---|',
    row('quiet', quiet), row('storm', during), '',
    `Storm answers by status: ${JSON.stringify(during.storm)}.`,
  ].join('\n');
  publish('storm', { conditions, quiet, storm: during }, markdown);
} finally {
  agent.destroy();
  await server.stop();
}
