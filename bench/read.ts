/**
 * Read benchmark (issue 5): OnePic's GET /{username} under a Zipf workload, a cache-hit run
 * compared with nginx serving the identical bytes, a wrk cross-check, and p99 at half the
 * maximum rate. Server pinned to CPU 0, load generator to CPU 1.
 *
 * Run: npm run bench:read. Shorter: BENCH_DURATION=5 BENCH_USERS=200 npm run bench:read.
 * Env: BENCH_USERS (2000), BENCH_DURATION (15 s), BENCH_WRK_DURATION
 * (10 s), BENCH_CONNECTIONS (64), BENCH_ZIPF_S (1.1), BENCH_SIZES (64,128,256), BENCH_INM_SHARE
 * (0.3), BENCH_SEED_SECONDS (120: seeding stops there and the users seeded so far are used),
 * BENCH_RENDITION_CACHE_MB (16, small enough that the Zipf tail misses the rendition LRU),
 * BENCH_SKIP_BUILD=1, BENCH_NOTE (free text stored with the results), BENCH_FORCE_INM=1,
 * BENCH_RESULTS_DIR (see bench/lib/results.ts). Needs wrk and nginx (Debian packages).
 */
import { inParallel, register, uploadPicture } from './lib/api.js';
import type { ReadRequest } from './lib/autocannon.js';
import { machineLoad } from './lib/conditions.js';
import { envFlag, envNumber, envNumbers, logger } from './lib/env.js';
import { noiseJpeg } from './lib/images.js';
import { startNginxTwin } from './lib/nginx.js';
import { measureAutocannon, measureWrk, measureWrkPaced, type Settings } from './read-measure.js';
import { readReport } from './read-report.js';
import { publish } from './lib/results.js';
import { buildServer, startServer } from './lib/server.js';
import { zipfSampler } from './lib/zipf.js';

const log = logger('bench:read');
const P: Settings = {
  users: envNumber('BENCH_USERS', 2000),
  duration: envNumber('BENCH_DURATION', 15),
  wrkDuration: envNumber('BENCH_WRK_DURATION', 10),
  connections: envNumber('BENCH_CONNECTIONS', 64),
  zipfS: envNumber('BENCH_ZIPF_S', 1.1),
  sizes: envNumbers('BENCH_SIZES', [64, 128, 256]),
  inmShare: envNumber('BENCH_INM_SHARE', 0.3),
  seedSeconds: envNumber('BENCH_SEED_SECONDS', 120),
  renditionCacheMb: envNumber('BENCH_RENDITION_CACHE_MB', 16),
  requestList: 20000,
  hotSize: 128,
};

const started = Date.now();
if (!envFlag('BENCH_SKIP_BUILD')) log('npm run build');
buildServer();
// Seeding (scrypt per account) runs on both cores; the server is pinned to CPU 0 afterwards.
const server = await startServer({ pinned: false, env: { ONEPIC_RENDITION_CACHE_MB: String(P.renditionCacheMb) } });
const base = server.base;
log(`OnePic pid ${server.pid} on ${base}, data ${server.dataDir}`);
try {
  // 1. Seed users, each with a distinct 64x64 noise JPEG as the active picture.
  const seeded: boolean[] = [];
  await inParallel(P.users, 8, async (i) => {
    const user = { name: `u${i}`, token: await register(base, `u${i}`) };
    const status = await uploadPicture(base, user, await noiseJpeg(64));
    if (status !== 201 && status !== 200) throw new Error(`upload ${user.name}: ${status}`);
    seeded[i] = true;
  }, { deadline: Date.now() + P.seedSeconds * 1000, progress: (done) => log(`seed: ${done}/${P.users}`) });
  // Users are seeded in order by 8 workers, so the first seeded minus a few are all present.
  let users = 0;
  while (seeded[users]) users++;
  log(`seeded ${users} users (asked ${P.users}) in ${((Date.now() - started) / 1000).toFixed(0)}s since start`);
  if (users < 10) throw new Error('fewer than 10 users seeded');
  server.pin();
  log('pinned OnePic (all threads) to CPU 0; load generator on CPU 1');
  const loadBefore = machineLoad();

  // 2. Warm-up: ETags of the most popular users (the If-None-Match requests draw from these).
  const etagUsers = Math.min(users, 500);
  const etags = new Map<string, string>();
  const pairs = Array.from({ length: etagUsers }, (_, i) => P.sizes.map((s) => `/u${i}?s=${s}`)).flat();
  await inParallel(pairs.length, 16, async (k) => {
    const path = pairs[k] ?? '';
    const r = await fetch(base + path);
    await r.arrayBuffer();
    const et = r.headers.get('etag');
    if (r.status === 200 && et) etags.set(path, et);
  }, { deadline: Date.now() + 30000 });
  log(`warm-up: ${etags.size} ETags`);

  // A 304 must not announce a body. If OnePic's 304 ever carries a bogus Content-Length again (a
  // uWS endWithoutBody() without a length once sent 9223372036854775808), autocannon would wait
  // for that body and every If-None-Match connection would stall, so the share is set to 0
  // (BENCH_FORCE_INM=1 keeps it) and the reason goes into the results.
  let inmShare = P.inmShare;
  let inmNote = '';
  const probe = [...etags.entries()][0];
  if (probe && inmShare > 0) {
    let cl: string | null = null;
    try {
      const r = await fetch(base + probe[0], { headers: { 'If-None-Match': probe[1] }, signal: AbortSignal.timeout(5000) });
      cl = r.headers.get('content-length');
      await r.body?.cancel();
      if (r.status !== 304) inmNote = `If-None-Match probe answered ${r.status}, not 304`;
    } catch (e) { inmNote = `If-None-Match probe failed: ${String(e)}`; }
    if (cl !== null && Number(cl) > 1e9) inmNote = `OnePic's 304 carries Content-Length: ${cl} (server bug in writeReply: endWithoutBody(undefined)); autocannon would wait for that body`;
    if (inmNote) {
      log(`WARNING: ${inmNote}`);
      if (!envFlag('BENCH_FORCE_INM')) { inmShare = 0; inmNote += '; If-None-Match share set to 0 for this run'; log('If-None-Match share set to 0 (BENCH_FORCE_INM=1 keeps it)'); }
    }
  }

  // 3. Zipf read run.
  const draw = zipfSampler(users, P.zipfS);
  const requests: ReadRequest[] = [];
  let inm = 0;
  for (let k = 0; k < P.requestList; k++) {
    const path = `/u${draw()}?s=${P.sizes[Math.floor(Math.random() * P.sizes.length)]}`;
    const et = etags.get(path);
    if (et && Math.random() < inmShare) { requests.push({ path, headers: { 'If-None-Match': et } }); inm++; } else requests.push({ path });
  }
  const distinctUsersInList = new Set(requests.map((r) => r.path.split('?')[0])).size;
  const zipf = await measureAutocannon('OnePic Zipf', P, server.pid, { url: base, duration: P.duration, requests });
  // At half rate, wrk paced over the same list: autocannon's overallRate releases requests in
  // bursts and counts its own queueing as latency (p99 ~400 ms against nginx serving static
  // files at 2,700 req/s), so it cannot say what a server's tail is at a given rate.
  const half = await measureWrkPaced('wrk OnePic Zipf @ half rate', P, base, server.pid, Math.max(1, Math.floor(zipf.rps / 2)), requests);

  // 4. Cache-hit: one hot user, one size, no If-None-Match, vs nginx serving the same bytes.
  const hotPath = `/u0?s=${P.hotSize}`;
  const hot = await fetch(base + hotPath);
  const hotBytes = Buffer.from(await hot.arrayBuffer());
  const h = (n: string): string => hot.headers.get(n) ?? '';
  const headers = { 'Content-Type': h('content-type'), ETag: h('etag'), 'Cache-Control': h('cache-control'), 'X-Content-Type-Options': h('x-content-type-options'),
    'Access-Control-Allow-Origin': h('access-control-allow-origin'), 'Cross-Origin-Resource-Policy': h('cross-origin-resource-policy'), Vary: h('vary') };
  const onepicHot = await measureAutocannon('OnePic cache-hit', P, server.pid, { url: base + hotPath, duration: P.duration });

  const nginx = await startNginxTwin(hotPath, hotBytes, headers);
  try {
    const check = await fetch(nginx.url);
    const sameBytes = Buffer.from(await check.arrayBuffer()).equals(hotBytes);
    const sameEtag = check.headers.get('etag') === headers.ETag;
    log(`nginx at ${nginx.url}: same bytes ${sameBytes}, same ETag ${sameEtag}`);
    const nginxHot = await measureAutocannon('nginx cache-hit', P, nginx.pid, { url: nginx.url, duration: P.duration });
    const wrkOnepic = await measureWrk('wrk OnePic cache-hit', P, base + hotPath, server.pid);
    const wrkNginx = await measureWrk('wrk nginx cache-hit', P, nginx.url, nginx.pid);
    // p99 at half the maximum rate: half of OnePic's wrk maximum, for both servers at the same rate.
    const halfHitRate = Math.floor(wrkOnepic.rps / 2);
    const pacedOnepic = await measureWrkPaced('wrk OnePic cache-hit @ half rate', P, base + hotPath, server.pid, halfHitRate);
    const pacedNginx = await measureWrkPaced('wrk nginx cache-hit @ same rate', P, nginx.url, nginx.pid, halfHitRate);
    nginx.stop();
    await server.stop();

    // 5. Report.
    const { results, markdown } = readReport({
      P, started, loadBefore, note: process.env.BENCH_NOTE ?? '',
      users, etagUsers, inm, inmNote, requests, distinctUsersInList,
      hotPath, hotBytes: hotBytes.length, headers, sameBytes, sameEtag,
      zipf, half, onepicHot, nginxHot, wrkOnepic, wrkNginx, pacedOnepic, pacedNginx,
    });
    publish('read', results, markdown);
  } finally {
    nginx.stop();
  }
} finally {
  await server.stop();
}
