/** bench:read's results: the JSON record of a run and the Markdown report printed from it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadRequest } from './lib/autocannon.js';
import { collectConditions, describeLoad, describeMachine, type MachineLoad } from './lib/conditions.js';
import { SERVER_CPU, LOADGEN_CPU } from './lib/cpu.js';
import { toolVersion } from './lib/exec.js';
import { ROOT } from './lib/root.js';
import { wrkMs } from './lib/wrk.js';
import type { Measured, PacedOut, Settings, WrkOut } from './read-measure.js';

export interface ReadRun {
  P: Settings; started: number; note: string; loadBefore: MachineLoad;
  users: number; etagUsers: number; inm: number; inmNote: string; requests: ReadRequest[]; distinctUsersInList: number;
  hotPath: string; hotBytes: number; headers: Record<string, string>; sameBytes: boolean; sameEtag: boolean;
  zipf: Measured; half: PacedOut; onepicHot: Measured; nginxHot: Measured; wrkOnepic: WrkOut; wrkNginx: WrkOut; pacedOnepic: PacedOut; pacedNginx: PacedOut;
}

export function readReport(run: ReadRun): { results: unknown; markdown: string } {
  const { P, zipf, half, onepicHot, nginxHot, wrkOnepic, wrkNginx, pacedOnepic, pacedNginx } = run;
  const autocannon = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')) as { version: string }).version;
  const conditions = collectConditions({
    note: run.note,
    versions: { nginx: toolVersion('nginx', ['-v']), autocannon, wrk: toolVersion('wrk', ['-v']) },
    pinning: { server: `taskset -c ${SERVER_CPU} (OnePic: all threads, after seeding)`, nginx: `taskset -c ${SERVER_CPU}, master_process off, 1 worker`, loadGenerator: `taskset -c ${LOADGEN_CPU}` },
    onepicEnv: { ONEPIC_WORKERS: 1, ONEPIC_RENDITION_CACHE_MB: P.renditionCacheMb, stores: 'embedded (SQLite + fs) in a temp dir' },
    connections: P.connections, keepAlive: true, durationSeconds: P.duration, wrkDurationSeconds: P.wrkDuration,
    usersAsked: P.users, usersSeeded: run.users, zipfS: P.zipfS, sizes: P.sizes, ifNoneMatchShareTarget: P.inmShare, ifNoneMatchNote: run.inmNote,
    ifNoneMatchShareActual: +(run.inm / run.requests.length).toFixed(3), etagsKnownForTopUsers: run.etagUsers,
    requestListLength: run.requests.length, distinctUsersInRequestList: run.distinctUsersInList,
    hotUrl: run.hotPath, hotBytes: run.hotBytes, hotHeaders: run.headers, nginxSameBytes: run.sameBytes, nginxSameEtag: run.sameEtag,
    nginxExtraHeaders: 'nginx also sends Server, Last-Modified, Accept-Ranges (not removable without modules); OnePic also sends X-Request-Id and uWebSockets',
    machine_load_before_run: run.loadBefore,
    totalSeconds: Math.round((Date.now() - run.started) / 1000),
  });
  const ratio = onepicHot.rps / nginxHot.rps;
  const wrkRatio = wrkOnepic.rps / wrkNginx.rps;
  const results = {
    name: 'read', conditions, zipf, halfRate: half, onepicHot, nginxHot, ratioOnepicToNginx: ratio,
    wrk: { onepic: wrkOnepic, nginx: wrkNginx, ratio: wrkRatio },
    cacheHitHalfRate: { onepic: pacedOnepic, nginx: pacedNginx, onepicP99Ms: wrkMs(pacedOnepic.p99) },
  };

  const f = (x: number, d = 0): string => x.toFixed(d);
  const row = (m: Measured): string => `| ${m.label} | ${f(m.rps)} | ${f(m.p50, 2)} | ${f(m.p99, 2)} | ${f(m.p999, 2)} | ${m.non2xx304} | ${m.errors + m.timeouts} | ${f(m.serverCpuPercent)}% | ${f(m.serverCpuMicrosPerReq, 1)} | ${f(m.loadgenCpuPercent)}% | ${m.generatorBound ? 'yes' : 'no'} |`;
  const wrow = (w: WrkOut): string => `| ${w.label} | ${f(w.rps)} | ${w.p50} | ${w.p99} | | ${w.non2xx3xx} | | ${f(w.serverCpuPercent)}% | | ${f(w.loadgenCpuPercent)}% | ${w.generatorBound ? 'yes' : 'no'} |`;
  const halfHitRate = pacedOnepic.targetRate;
  const v = conditions.versions;
  const markdown = `# Read benchmark (${conditions.date})

${conditions.note ? `**${conditions.note}**\n\n` : ''}| run | req/s | p50 ms | p99 ms | p99.9 ms | not 200/304 | errors+timeouts | server CPU (of 1 core) | server CPU µs/req | load gen CPU | generator-bound |
|---|---|---|---|---|---|---|---|---|---|---|
${row(zipf)}
${row(onepicHot)}
${row(nginxHot)}
${wrow(wrkOnepic)}
${wrow(wrkNginx)}

| paced run (wrk, 2 ms wait per connection) | target req/s | achieved req/s | connections | p50 | p90 | p99 | server CPU | not 2xx/3xx |
|---|---|---|---|---|---|---|---|---|
${[half, pacedOnepic, pacedNginx].map((w) => `| ${w.label} | ${w.targetRate} | ${f(w.rps)} | ${w.connections} | ${w.p50} | ${w.p90} | ${w.p99} | ${f(w.serverCpuPercent)}% | ${w.non2xx3xx} |`).join('\n')}

- **Cache-hit OnePic/nginx, req/s on the same bytes: ${f(wrkRatio, 2)}x with wrk** (the figure that counts: wrk kept its core below saturation while both servers used all of theirs; ${wrkOnepic.generatorBound || wrkNginx.generatorBound ? 'but wrk was generator-bound in one run, see the table' : 'neither wrk run was generator-bound'}). autocannon: ${f(ratio, 2)}x${onepicHot.generatorBound || nginxHot.generatorBound || onepicHot.loadgenCpuPercent > 90 ? ' (autocannon used ~all of its core: it measured itself, not the servers)' : ''}. Target: at least 1.0x, aim 1.2x.
- **Cache-hit p99 at half OnePic's maximum rate (${halfHitRate} req/s target, ${f(pacedOnepic.rps)} achieved): ${pacedOnepic.p99}** (nginx at the same rate: ${pacedNginx.p99}). Target: under 2 ms.
- Zipf at half its own maximum rate (${half.targetRate} req/s target, ${f(half.rps)} achieved, wrk paced over the same request list): p99 ${half.p99}, over a mix of hits, 304s and renditions read back from the store.
- Zipf run status codes: ${JSON.stringify(zipf.status)}.

Conditions: ${describeMachine(conditions)}, ${String(v.nginx)}, autocannon ${autocannon}, ${String(v.wrk)}.
Server on CPU ${SERVER_CPU} (OnePic with ONEPIC_WORKERS=1, embedded stores, rendition LRU ${P.renditionCacheMb} MB; nginx 1 process), load generator on CPU ${LOADGEN_CPU}.
${P.connections} keep-alive connections, ${P.duration} s per autocannon run, ${P.wrkDuration} s per wrk run (wrk -t1; the paced runs at half rate use fewer connections, see their table).
${run.users} users (Zipf s=${P.zipfS} over them, ${run.distinctUsersInList} distinct in the ${run.requests.length}-request list), sizes ${P.sizes.join(', ')}, If-None-Match on ${f(100 * conditions.ifNoneMatchShareActual, 1)}% of requests (target ${f(100 * P.inmShare)}%, ETags known for the top ${run.etagUsers} users).${run.inmNote ? `\n**If-None-Match: ${run.inmNote}.**` : ''}
Cache-hit URL ${run.hotPath} (${run.hotBytes} bytes); nginx serves the same bytes: ${run.sameBytes}, same ETag: ${run.sameEtag}. nginx additionally sends Server, Last-Modified and Accept-Ranges; OnePic additionally sends X-Request-Id and uWebSockets.
CPU % = CPU seconds over the load generator's wall time (which includes waiting for timed-out requests, so CPU % is understated when there are timeouts; µs/req is not affected).
"Generator-bound" = load generator above 90% of its core while the server is below 90% of its core.
${describeLoad(conditions)}
Reproduce: \`npm run bench:read\` (quick: \`BENCH_DURATION=5 BENCH_USERS=200 npm run bench:read\`).
`;
  return { results, markdown };
}
