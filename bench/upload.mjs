#!/usr/bin/env node
// Upload benchmark (issue 5): phone-style JPEGs through the real pipeline, server on one core.
//
//   npm run bench:upload                      # defaults below
//   BENCH_DURATION=20 BENCH_CONCURRENCY=4 BENCH_IMAGES=20 npm run bench:upload
//   BENCH_MASTER_SIZE=1024 npm run bench:upload  # server with ONEPIC_MASTER_SIZE=1024; results as upload-master1024-*
//
// The server runs as `taskset -c 0 node dist/main.js` with ONEPIC_WORKERS=1 (one imaging thread,
// so the figure is "uploads per second per core"), embedded stores in a temp dir. The load
// generator is a separate process, `taskset -c 1 node bench/upload.mjs gen ...`, using node:http
// keep-alive (no extra dependency). This file also exports the helpers bench/mixed.mjs uses.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, totalmem, cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import net from 'node:net';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
const CLK_TCK = Number(safeExec('getconf', ['CLK_TCK']) || 100);

function safeExec(cmd, args) {
  try { return execFileSync(cmd, args, { encoding: 'utf8' }).trim(); } catch { return ''; }
}
export const envInt = (name, def) => (process.env[name] ? Number(process.env[name]) : def);

// ---------- server ----------
export async function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
    s.on('error', rej);
  });
}

export function build() {
  if (process.env.BENCH_SKIP_BUILD === '1') return;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}

export async function startServer(extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'onepic-bench-'));
  const port = await freePort();
  const env = {
    ...process.env, PORT: String(port), HOST: '127.0.0.1', ONEPIC_DATA_DIR: dir,
    ONEPIC_METADATA: 'embedded', ONEPIC_BLOBS: 'fs', ONEPIC_WORKERS: '1',
    ONEPIC_LOG_LEVEL: 'warn', ONEPIC_SWEEP_INTERVAL_SECONDS: '0', ...extraEnv,
  };
  const child = spawn('taskset', ['-c', '0', process.execPath, '--max-semi-space-size=32', join(ROOT, 'dist/main.js')], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  let stopping = false;
  child.on('exit', (code, signal) => { if (!stopping) console.error(`bench: the OnePic server exited during the run (code ${code}, signal ${signal})`); });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try { const r = await fetch(`${base}/healthz`); if (r.ok) break; } catch { /* not yet */ }
    await sleep(100);
  }
  return {
    child, port, base, dir,
    async stop() {
      stopping = true;
      child.kill('SIGTERM');
      await new Promise((r) => { if (child.exitCode !== null) r(); else child.once('exit', r); setTimeout(r, 5000); });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** utime+stime of a process (all its threads) in seconds. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function register(base, username) {
  const r = await fetch(`${base}/api/v1/users`, { method: 'POST', body: JSON.stringify({ username, password: 'bench password ' + username }) });
  if (r.status !== 201 && r.status !== 200) throw new Error(`register ${username}: ${r.status} ${await r.text()}`);
  return (await r.json()).token;
}

export async function uploadOnce(base, user, token, jpeg) {
  const r = await fetch(`${base}/api/v1/users/${user}/pictures?active=true`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg' }, body: jpeg,
  });
  await r.arrayBuffer();
  return r.status;
}

// ---------- metrics ----------
/** {stage: {sum, count}} for onepic_transcode_stage_seconds{job=...}. */
export async function stageMetrics(base, job = 'upload') {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^onepic_transcode_stage_seconds_(sum|count)\{([^}]*)\} ([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (labels.job !== job) continue;
    (out[labels.stage] ??= { sum: 0, count: 0 })[m[1]] = Number(m[3]);
  }
  return out;
}
/** Store operation latency from /metrics: count, sum and the histogram buckets, per store and operation. */
export async function storeMetrics(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^onepic_store_operation_seconds_(sum|count|bucket)\{([^}]*)\} ([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const op = (out[`${labels.store}.${labels.operation}`] ??= { sum: 0, count: 0, buckets: {} });
    if (m[1] === 'bucket') op.buckets[labels.le] = Number(m[3]); else op[m[1]] = Number(m[3]);
  }
  return out;
}
/** Per operation between two scrapes: count, mean, and the bucket bound that holds the slowest. */
export function storeDelta(before, after) {
  const out = {};
  for (const [op, a] of Object.entries(after)) {
    const b = before[op] ?? { sum: 0, count: 0, buckets: {} };
    const count = a.count - b.count;
    if (count <= 0) continue;
    const bounds = Object.keys(a.buckets).filter((le) => le !== '+Inf').map(Number).sort((x, y) => x - y);
    const slowest = bounds.find((le) => a.buckets[String(le)] - (b.buckets[String(le)] ?? 0) >= count);
    out[op] = { count, mean_ms: +(((a.sum - b.sum) / count) * 1000).toFixed(2), max_under_ms: slowest === undefined ? 'over the top bucket' : slowest * 1000 };
  }
  return out;
}
export function stageDelta(before, after) {
  const out = {};
  for (const [stage, a] of Object.entries(after)) {
    const b = before[stage] ?? { sum: 0, count: 0 };
    const count = a.count - b.count;
    if (count > 0) out[stage] = { count, sum_s: +(a.sum - b.sum).toFixed(4), mean_ms: +(((a.sum - b.sum) / count) * 1000).toFixed(2) };
  }
  return out;
}

// ---------- images ----------
/** Phone-style JPEG: smooth colour blobs plus sensor-like noise, EXIF orientation 6, make/model, GPS. */
export async function phoneJpegs(n, width = 1600, height = 1200, sigma = 8) {
  const sharp = (await import('sharp')).default;
  const out = [];
  for (let i = 0; i < n; i++) {
    const base = await sharp({ create: { width: 40, height: 30, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png().toBuffer();
    const px = await sharp(base).resize(width, height, { kernel: 'cubic' }).raw().toBuffer();
    const noise = await sharp({ create: { width, height, channels: 3, noise: { type: 'gaussian', mean: 128, sigma } } }).raw().toBuffer();
    for (let j = 0; j < px.length; j++) { const v = px[j] + noise[j] - 128; px[j] = v < 0 ? 0 : v > 255 ? 255 : v; }
    out.push(await sharp(px, { raw: { width, height, channels: 3 } })
      .withExif({
        IFD0: { Make: 'Apple', Model: 'iPhone 13 Pro', Software: '17.1', DateTime: '2026:11:23 12:00:00' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: `48/1 51/1 ${2900 + i}/100`, GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 300/100' },
      })
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 85 }).toBuffer());
  }
  return out;
}

// ---------- conditions ----------
export function conditions(extra = {}) {
  const cpuinfo = safeExec('cat', ['/proc/cpuinfo']);
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  let sharpV = 'unknown';
  try { const sp = JSON.parse(readFileSync(join(ROOT, 'node_modules/sharp/package.json'), 'utf8')); sharpV = sp.version; } catch { /* */ }
  return {
    date: new Date().toISOString(),
    machine: { nproc: Number(safeExec('nproc', [])), cpu_model: model, mem_gib: +(totalmem() / 2 ** 30).toFixed(1), kernel: safeExec('uname', ['-r']) },
    versions: { node: process.version, onepic: pkg.version, onepic_commit: safeExec('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
      // dist/ is built from the working tree: uncommitted source changes are part of what ran.
      uncommitted_src: safeExec('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src']).split('\n').filter(Boolean), sharp: sharpV },
    pinning: { server: 'taskset -c 0', load_generator: 'taskset -c 1' },
    // Other work on the machine skews a 2-core benchmark; record it so a contaminated run shows.
    machine_load_after_run: machineLoad(),
    ...extra,
  };
}

export const machineLoad = () => ({ loadavg_1_5_15: loadavg().map((x) => +x.toFixed(2)), other_busy_processes: otherBusy() });

/** Processes (not this benchmark's) using more than 5% CPU, from ps. */
export function otherBusy() {
  const out = safeExec('ps', ['-eo', 'pid,ppid,pcpu,etimes,args', '--sort=-pcpu', '--no-headers']);
  return out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => Number(f[2]) > 5 && Number(f[0]) !== process.pid && Number(f[1]) !== process.pid)
    .slice(0, 8).map((f) => `${f[2]}% ${f.slice(4).join(' ').slice(0, 80)}`);
}

export function writeResults(name, result, markdown) {
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const day = new Date().toISOString().slice(0, 10);
  writeFileSync(join(dir, `${name}-${day}.json`), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(dir, `${name}-latest.md`), markdown + '\n');
}

// ---------- load generator (runs in its own process, pinned) ----------
function pct(sorted, p) {
  if (!sorted.length) return null;
  return +sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)].toFixed(3);
}
export function summarize(lat, statuses, errors, seconds) {
  lat.sort((a, b) => a - b);
  const total = lat.length;
  return {
    requests: total, seconds: +seconds.toFixed(2), rate_per_s: +(total / seconds).toFixed(2),
    ok: Object.entries(statuses).filter(([s]) => s < 400).reduce((a, [, n]) => a + n, 0),
    latency_ms: { p50: pct(lat, 50), p99: pct(lat, 99), p999: pct(lat, 99.9), max: total ? +lat[total - 1].toFixed(3) : null, mean: total ? +(lat.reduce((a, b) => a + b, 0) / total).toFixed(3) : null },
    statuses, errors,
  };
}

/**
 * Closed-loop worker: `concurrency` loops, each sending the next request as soon as the previous
 * answers, for `seconds`. `next()` returns {path, method, headers, body}. If `intervalMs` is set,
 * it is an open-loop trickle instead: one request every intervalMs (concurrency unused).
 */
export async function drive({ host, port, seconds, concurrency, next, intervalMs }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(concurrency, 64) });
  const lat = []; const statuses = {}; let errors = 0;
  const slow = []; // five slowest: [start offset ms, latency ms, status]
  const start = performance.now();
  const end = start + seconds * 1000;
  const one = () => new Promise((resolve) => {
    const { path, method = 'GET', headers = {}, body } = next();
    const t0 = performance.now();
    const req = http.request({ host, port, path, method, headers: body ? { ...headers, 'Content-Length': body.length } : headers, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => { const ms = performance.now() - t0; lat.push(ms); slow.push([+(t0 - start).toFixed(0), +ms.toFixed(1), res.statusCode]); slow.sort((x, y) => y[1] - x[1]); slow.length = Math.min(slow.length, 5); statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1; resolve(); });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end(body);
  });
  if (intervalMs) {
    const pending = [];
    for (let t = start; t < end; t += intervalMs) {
      const wait = t - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(one());
    }
    await Promise.all(pending);
  } else {
    await Promise.all(Array.from({ length: concurrency }, async () => { while (performance.now() < end) await one(); }));
  }
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return { ...summarize(lat, statuses, errors, elapsed), slowest_start_ms_latency_ms_status: slow };
}

/** Runs `node <script> gen <specFile>` pinned to CPU 1; resolves with the JSON it prints. */
export function runGenerator(script, spec) {
  const specFile = join(tmpdir(), `onepic-bench-spec-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', '1', process.execPath, script, 'gen', specFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code) => {
      rmSync(specFile, { force: true });
      if (code !== 0) reject(new Error(`generator exited ${code}`)); else resolve(JSON.parse(out));
    });
  });
}

// ---------- upload generator body ----------
async function genUpload(spec) {
  const images = spec.images.map((f) => readFileSync(f));
  let i = 0;
  const next = () => {
    const k = i++;
    const u = spec.users[k % spec.users.length];
    return { path: `/api/v1/users/${u.name}/pictures?active=true`, method: 'POST', headers: { Authorization: `Bearer ${u.token}`, 'Content-Type': 'image/jpeg' }, body: images[k % images.length] };
  };
  return drive({ host: '127.0.0.1', port: spec.port, seconds: spec.seconds, concurrency: spec.concurrency, next });
}

// ---------- main ----------
async function main() {
  const seconds = envInt('BENCH_DURATION', 20);
  const concurrency = envInt('BENCH_CONCURRENCY', 4);
  const nImages = envInt('BENCH_IMAGES', 20);
  const nUsers = envInt('BENCH_UPLOAD_USERS', 4);
  build();
  console.error(`generating ${nImages} phone-style JPEGs...`);
  const jpegs = await phoneJpegs(nImages);
  const imgDir = mkdtempSync(join(tmpdir(), 'onepic-bench-img-'));
  const files = jpegs.map((b, i) => { const f = join(imgDir, `${i}.jpg`); writeFileSync(f, b); return f; });
  const sizes = jpegs.map((b) => b.length);
  const masterSize = process.env.BENCH_MASTER_SIZE;
  const server = await startServer(masterSize ? { ONEPIC_MASTER_SIZE: masterSize } : {});
  try {
    const users = [];
    for (let i = 0; i < nUsers; i++) { const name = `up${i}`; users.push({ name, token: await register(server.base, name) }); }
    // Warm-up: one upload so the worker thread and sharp are loaded.
    await uploadOnce(server.base, users[0].name, users[0].token, jpegs[0]);
    const { pictures } = await (await fetch(`${server.base}/api/v1/users/${users[0].name}/pictures`, { headers: { Authorization: `Bearer ${users[0].token}` } })).json();
    const masterSide = pictures[0].width;
    const loadBefore = machineLoad();
    const m0 = await stageMetrics(server.base); const s0 = await storeMetrics(server.base); const c0 = cpuSeconds(server.child.pid);
    console.error(`driving uploads: concurrency ${concurrency}, ${seconds}s...`);
    const r = await runGenerator(SELF, { kind: 'upload', port: server.port, seconds, concurrency, users, images: files });
    const c1 = cpuSeconds(server.child.pid); const m1 = await stageMetrics(server.base); const s1 = await storeMetrics(server.base);
    const created = r.statuses['201'] ?? 0;
    const cpu = c1 - c0;
    const result = {
      name: 'upload',
      note: seconds < 20 ? `short run (${seconds}s) to prove the script works; not a final figure` : undefined,
      conditions: conditions({
        server_env: { ONEPIC_WORKERS: 1, ONEPIC_METADATA: 'embedded', ONEPIC_BLOBS: 'fs (temp dir)', ONEPIC_MASTER_SIZE: masterSize ?? 'default' },
        master_side: masterSide,
        concurrency, duration_s: seconds, users: nUsers,
        image: { count: nImages, width: 1600, height: 1200, format: 'JPEG q85, EXIF orientation 6, Make/Model, GPS', bytes_min: Math.min(...sizes), bytes_max: Math.max(...sizes), bytes_mean: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length) },
        load_generator: 'node:http keep-alive, closed loop',
        machine_load_before_run: loadBefore,
      }),
      uploads_per_s: +(created / r.seconds).toFixed(2),
      latency_ms: r.latency_ms, slowest_start_ms_latency_ms_status: r.slowest_start_ms_latency_ms_status, statuses: r.statuses, errors: r.errors, requests: r.requests,
      server_cpu_s: +cpu.toFixed(2), server_core_utilisation: +(cpu / r.seconds).toFixed(2), server_cpu_ms_per_upload: created ? +((cpu / created) * 1000).toFixed(1) : null,
      stages: stageDelta(m0, m1),
      store_operations: storeDelta(s0, s1),
    };
    const md = uploadMarkdown(result);
    console.log(md);
    writeResults(masterSize ? `upload-master${masterSize}` : 'upload', result, md);
  } finally {
    await server.stop();
    rmSync(imgDir, { recursive: true, force: true });
  }
}

function uploadMarkdown(r) {
  const c = r.conditions;
  const lines = [
    `## Upload benchmark (${c.date})`, '',
    r.note ? `> ${r.note}\n` : '',
    '| metric | value |', '|---|---|',
    `| uploads/s (201s, server on 1 core, 1 imaging thread) | ${r.uploads_per_s} |`,
    `| master side (px) | ${c.master_side}${c.server_env.ONEPIC_MASTER_SIZE === 'default' ? ' (the default)' : ''} |`,
    `| latency p50 / p99 / max (ms) | ${r.latency_ms.p50} / ${r.latency_ms.p99} / ${r.latency_ms.max} |`,
    `| statuses | ${Object.entries(r.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')}${r.errors ? `, socket errors: ${r.errors}` : ''} |`,
    `| server CPU per upload (ms) | ${r.server_cpu_ms_per_upload} (${r.server_cpu_s} s total) |`,
    `| five slowest (started at ms, took ms) | ${r.slowest_start_ms_latency_ms_status.map(([t, ms]) => `${t}: ${ms}`).join('; ')} |`,
    `| server core utilisation | ${Math.round(r.server_core_utilisation * 100)}%${r.server_core_utilisation < 0.9 ? ' (not saturated: the bottleneck was elsewhere)' : ''} |`,
    '', '| stage (job="upload") | count | mean ms | total s |', '|---|---|---|---|',
    ...Object.entries(r.stages).map(([s, v]) => `| ${s} | ${v.count} | ${v.mean_ms} | ${v.sum_s} |`),
    '', '| store operation | count | mean ms | slowest under (ms, histogram bound) |', '|---|---|---|---|',
    ...Object.entries(r.store_operations ?? {}).map(([op, v]) => `| ${op} | ${v.count} | ${v.mean_ms} | ${v.max_under_ms} |`),
    '', conditionsMarkdown(c),
  ];
  return lines.join('\n');
}

function loadText(when, l) {
  if (!l) return '';
  return `Load average ${when} ${l.loadavg_1_5_15.join(' / ')}` +
    (l.other_busy_processes.length ? `, other busy processes (figures skewed by them): ${l.other_busy_processes.join('; ')}.` : ', no other busy processes.');
}

export function conditionsMarkdown(c) {
  const img = c.image ? `; images: ${c.image.count} distinct ${c.image.width}x${c.image.height} ${c.image.format}, ${Math.round(c.image.bytes_min / 1024)}-${Math.round(c.image.bytes_max / 1024)} KiB (mean ${Math.round(c.image.bytes_mean / 1024)} KiB)` : '';
  return `Conditions: ${c.machine.nproc} CPUs (${c.machine.cpu_model}), ${c.machine.mem_gib} GiB RAM, Linux ${c.machine.kernel}; ` +
    `Node ${c.versions.node}, OnePic ${c.versions.onepic} (${c.versions.onepic_commit}${c.versions.uncommitted_src?.length ? ` plus uncommitted ${c.versions.uncommitted_src.join(', ')}` : ''}), sharp ${c.versions.sharp}; ` +
    `server ${c.pinning.server}, load generator ${c.pinning.load_generator} (${c.load_generator}); ` +
    `concurrency ${c.concurrency}, duration ${c.duration_s} s${img}. ` +
    loadText('before the run', c.machine_load_before_run) + ' ' + loadText('after the run', c.machine_load_after_run) +
    ` Reproduce: see the header of the script.`;
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === 'gen') {
    const spec = JSON.parse(readFileSync(process.argv[3], 'utf8'));
    const run = spec.kind === 'upload' ? genUpload : (await import(spec.module)).gen;
    process.stdout.write(JSON.stringify(await run(spec)));
  } else {
    await main();
  }
}
