import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { distinctJpeg } from '../fixtures/distinct-jpeg.js';
import { register, upload } from '../support/http.js';
import { parseExposition } from '../support/metrics.js';
import { freePort, type RunningServer, startServer } from '../support/server.js';
import { sleep } from '../support/timing.js';

/**
 * The Grafana dashboards and the Prometheus rules, proven against a real Prometheus that
 * scrapes a real OnePic server while traffic flows:
 *
 * - `promtool check rules` / `check config` accept the shipped files;
 * - every metric a dashboard or rule names is exported by the server (`# TYPE` in /metrics);
 * - every `expr` of every dashboard panel, and every recording rule, returns a non-empty
 *   vector through Prometheus's HTTP API with at least one finite value (the strong form for
 *   all of them: the traffic below includes rejected uploads, 404s, cache misses and
 *   evictions, and a burst that overflows the imaging queue so uploads fail with 503 busy);
 * - every alerting and recording rule is loaded and evaluates with health "ok".
 *
 * Needs `prometheus` and `promtool` on PATH (Debian: `apt-get install prometheus`); without
 * them the suite fails, it does not skip.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const RULES = path.join(ROOT, 'deploy/prometheus/onepic-rules.yml');
const EXAMPLE_CONFIG = path.join(ROOT, 'deploy/prometheus/prometheus.yml');
const DASHBOARDS = path.join(ROOT, 'grafana/dashboards');
const TRAFFIC_MS = 22_000;
const run = promisify(execFile);

// ---- What is checked: read at collection time, one test per expression ----

interface Panel { type: string; title: string; targets?: { refId: string; expr?: string }[]; panels?: Panel[] }
interface Dashboard { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: { name: string; type: string; query?: unknown; definition?: string }[] } }
interface RuleFile { groups: { name: string; rules: { record?: string; alert?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[] }

const dashboards = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json')).map((file) => ({
  file, model: JSON.parse(readFileSync(path.join(DASHBOARDS, file), 'utf8')) as Dashboard,
}));
const rules = parseYaml(readFileSync(RULES, 'utf8')) as RuleFile;
const recordingRules = rules.groups.flatMap((g) => g.rules.filter((r) => r.record));
const alertingRules = rules.groups.flatMap((g) => g.rules.filter((r) => r.alert));

/** Grafana's variables as a query against the whole fleet would have them. */
function substitute(expr: string): string {
  const out = expr
    .replace(/\$\{?__rate_interval\}?|\$\{?__interval\}?/g, '1m')
    .replace(/\$\{?__range\}?/g, '5m')
    .replace(/\$\{instance(?::[a-z]+)?\}|\$instance\b/g, '.*');
  const left = /\$\{?[A-Za-z_]\w*/.exec(out);
  if (left) throw new Error(`expression uses a template variable the test does not know (${left[0]}): ${expr}`);
  return out;
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const panelQueries = dashboards.flatMap(({ file, model }) => allPanels(model.panels).filter((p) => p.type !== 'row').flatMap((p) =>
  (p.targets ?? []).map((t) => ({ name: `${file} › ${p.title} › ${t.refId}`, expr: substitute(t.expr ?? '') }))));

/** The metric names (not recording-rule names) an expression refers to. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(onepic_[a-z0-9_]+)/g)].map((m) => m[1]!);
}

// ---- Binaries and processes ----

function requireBinary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch { /* not here */ }
  }
  throw new Error(`\`${name}\` is not on PATH. The observability suite needs a real Prometheus: on Debian, `
    + '`apt-get install prometheus` (2.42, brings promtool); .ci/run installs it.');
}

async function stopChild(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}


// ---- Prometheus HTTP API ----

interface Sample { metric: Record<string, string>; value: [number, string] }
type QueryAnswer = { status: 'success'; data: { resultType: string; result: Sample[] } } | { status: 'error'; errorType: string; error: string };

let promBase = '';
async function query(expr: string): Promise<{ resultType: string; result: Sample[] }> {
  const res = await fetch(`${promBase}/api/v1/query`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: expr }),
  });
  const answer = (await res.json()) as QueryAnswer;
  if (answer.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${answer.errorType}: ${answer.error}`);
  return answer.data;
}

/** The strong form: a non-empty vector with at least one finite value. */
async function expectData(expr: string): Promise<Sample[]> {
  const data = await query(expr);
  expect(data.resultType, expr).toBe('vector');
  expect(data.result.length, `no series for: ${expr}`).toBeGreaterThan(0);
  const values = data.result.map((s) => Number(s.value[1]));
  expect(values.some(Number.isFinite), `only NaN/Inf for: ${expr} → ${JSON.stringify(data.result)}`).toBe(true);
  return data.result;
}

// ---- The run ----

let server: RunningServer | undefined;
let prom: ChildProcess | undefined;
let promOutput = '';
let workDir = '';
let metricsText = '';
const trafficLog: Record<string, number> = {};

async function hit(method: string, url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, { method, ...init });
  await res.arrayBuffer();
  const key = `${method} ${res.status}`;
  trafficLog[key] = (trafficLog[key] ?? 0) + 1;
  return res;
}

/** ~TRAFFIC_MS of registrations, uploads (created, rejected, busy), reads (hits, misses, several sizes and formats), 404s and /i/ keys. */
async function driveTraffic(base: string): Promise<void> {
  const users = ['obs-ada', 'obs-grace', 'obs-linus'];
  const tokens = new Map<string, string>();
  const keys: string[] = [];
  let seed = 0;
  const uploadOne = async (user: string, side = 96, query = '?active=true') => {
    const res = await upload(base, user, tokens.get(user)!, await distinctJpeg(seed++, side), query);
    trafficLog[`upload ${res.status}`] = (trafficLog[`upload ${res.status}`] ?? 0) + 1;
    if (res.status === 201) keys.push(((await res.json()) as { url: string }).url);
    else await res.arrayBuffer();
    return res.status;
  };
  for (const u of users) {
    tokens.set(u, await register(base, u));
    expect(await uploadOne(u, 256)).toBe(201);
  }
  // Rejected uploads: not an image (unsupported type) and a type the route refuses (415).
  await hit('POST', `${base}/api/v1/users/${users[0]}/pictures`, {
    headers: { Authorization: `Bearer ${tokens.get(users[0]!)}`, 'Content-Type': 'image/jpeg' }, body: 'this is not a picture',
  });
  await hit('POST', `${base}/api/v1/users/${users[0]}/pictures`, {
    headers: { Authorization: `Bearer ${tokens.get(users[0]!)}`, 'Content-Type': 'text/plain' }, body: 'hello',
  });

  // Bursts past the imaging queue (1 thread, 2 waiting): some uploads fail with 503 busy,
  // which is what the upload error ratio and the queue panels must show. Two of them, apart:
  // rate() sees no increase in the first sample of a new series (the outcome="busy" series
  // appears with the first burst already counted), so only the second one shows in rates.
  let bursts = 0;
  const burst = async () => {
    const before = trafficLog['upload 503'] ?? 0;
    for (let attempt = 0; attempt < 4 && (trafficLog['upload 503'] ?? 0) === before; attempt++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => uploadOne(users[i % users.length]!, 768, '')));
    }
    bursts++;
  };

  const sizes = Array.from({ length: 40 }, (_, i) => 48 + i * 16);
  const deadline = Date.now() + TRAFFIC_MS;
  for (let i = 0; Date.now() < deadline; i++) {
    const user = users[i % users.length]!;
    const s = sizes[i % sizes.length]!;
    const accept = i % 2 ? 'image/webp,*/*' : 'image/jpeg';
    // The same rendition twice: a miss (or a hit from an earlier round), then a hit.
    await hit('GET', `${base}/${user}?s=${s}`, { headers: { Accept: accept } });
    await hit('GET', `${base}/${user}?s=${s}`, { headers: { Accept: accept } });
    await hit('HEAD', `${base}/${user}.png?s=64`);
    await hit('GET', `${base}/${user}`);
    const key = keys[i % keys.length];
    if (key) await hit('GET', `${base}${key}`);
    await hit('GET', `${base}/i/nobody.0000000000000000.64.jpg`);
    await hit('GET', `${base}/obs-nobody-${i % 5}`);
    await hit('GET', `${base}/obs-nobody?d=404`);
    await hit('GET', `${base}/api/v1/users/${user}`);
    await hit('GET', `${base}/api/v1/users/${user}/pictures`, { headers: { Authorization: `Bearer ${tokens.get(user)}` } });
    if (i % 15 === 7) await uploadOne(user, 128 + (i % 4) * 64);
    if (i % 25 === 3) await hit('POST', `${base}/api/v1/tokens`, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: user, password: 'wrong password here' }) });
    const left = deadline - Date.now();
    if ((bursts === 0 && i >= 30) || (bursts === 1 && left < TRAFFIC_MS / 3)) await burst();
    await sleep(20);
  }
  while (bursts < 2) await burst();
}

/** Starts OnePic and Prometheus and drives the traffic; everything the live tests query. */
async function setUp(): Promise<void> {
  const prometheus = requireBinary('prometheus');
  requireBinary('promtool');
  workDir = await mkdtemp(path.join(tmpdir(), 'onepic-obs-'));

  server = await startServer({
    env: {
      ONEPIC_WORKERS: '1', ONEPIC_WORKER_QUEUE: '2', // small, so that a burst overflows it
      ONEPIC_RENDITION_CACHE_MB: '1', // small, so that renditions of many sizes evict each other
      ONEPIC_ACTIVE_CACHE_TTL_MS: '1000',
    },
  });
  metricsText = await (await fetch(`${server.base}/metrics`)).text();

  const promPort = await freePort();
  promBase = `http://127.0.0.1:${promPort}`;
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [RULES],
    scrape_configs: [{ job_name: 'onepic', metrics_path: '/metrics', static_configs: [{ targets: [`127.0.0.1:${server.port}`] }] }],
  };
  const configFile = path.join(workDir, 'prometheus.yml');
  await writeFile(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
  await run('promtool', ['check', 'config', configFile]);
  prom = spawn(prometheus, [
    `--config.file=${configFile}`, `--storage.tsdb.path=${path.join(workDir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  prom.stdout!.on('data', (d: Buffer) => { promOutput += d.toString(); });
  prom.stderr!.on('data', (d: Buffer) => { promOutput += d.toString(); });

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (prom.exitCode !== null) throw new Error(`prometheus exited with ${prom.exitCode}:\n${promOutput}`);
    try {
      if ((await fetch(`${promBase}/-/ready`)).ok && (await query('up{job="onepic"} == 1')).result.length > 0) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`prometheus did not scrape OnePic within 30 s:\n${promOutput}`);
    await sleep(200);
  }

  await driveTraffic(server.base);
  // Two more scrapes and rule evaluations after the last request.
  await sleep(3_000);
  metricsText = await (await fetch(`${server.base}/metrics`)).text();
}

async function tearDown(): Promise<void> {
  await stopChild(prom);
  if (server) {
    await server.kill();
    await rm(server.dataDir, { recursive: true, force: true });
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
  console.log('observability traffic:', JSON.stringify(trafficLog));
}

describe('the shipped files', () => {
  it('promtool check rules accepts deploy/prometheus/onepic-rules.yml', async () => {
    requireBinary('promtool');
    const { stdout } = await run('promtool', ['check', 'rules', RULES]);
    expect(stdout).toContain('SUCCESS');
  });

  it('promtool check config accepts the example deploy/prometheus/prometheus.yml (and the rules it loads)', async () => {
    requireBinary('promtool');
    const { stdout } = await run('promtool', ['check', 'config', EXAMPLE_CONFIG]);
    expect(stdout).toContain('SUCCESS');
  });

  it('every alert has a severity label and summary/description annotations', () => {
    expect(alertingRules.length).toBeGreaterThan(0);
    for (const r of alertingRules) {
      expect(['critical', 'warning', 'info'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
    }
  });

  it('the dashboards are Grafana JSON models: uid, schemaVersion, ${datasource} and instance variables, a query in every panel', () => {
    expect(dashboards.length).toBeGreaterThan(0);
    for (const { file, model } of dashboards) {
      expect(model.uid, file).toBeTruthy();
      expect(model.schemaVersion, file).toBeGreaterThanOrEqual(36);
      const vars = Object.fromEntries(model.templating.list.map((v) => [v.name, v.type]));
      expect(vars, file).toMatchObject({ datasource: 'datasource', instance: 'query' });
      const panels = allPanels(model.panels);
      expect(new Set(panels.map((p) => (p as { id?: number }).id)).size, `${file}: panel ids are unique`).toBe(panels.length);
      for (const p of panels.filter((q) => q.type !== 'row')) {
        expect((p as { datasource?: { uid?: string } }).datasource?.uid, `${file} › ${p.title}`).toBe('${datasource}');
        expect(p.targets?.length, `${file} › ${p.title}`).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.expr, `${file} › ${p.title} › ${t.refId}`).toBeTruthy();
      }
    }
  });

  it('the provisioning files name a Prometheus data source and a file provider', () => {
    const ds = parseYaml(readFileSync(path.join(ROOT, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8')) as { datasources: { type: string }[] };
    expect(ds.datasources.map((d) => d.type)).toContain('prometheus');
    const dp = parseYaml(readFileSync(path.join(ROOT, 'grafana/provisioning/dashboards/onepic.yaml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] };
    expect(dp.providers[0]).toMatchObject({ type: 'file' });
  });
});

describe('against a real Prometheus scraping OnePic under traffic', () => {
  // A failed set-up (e.g. no prometheus binary) fails every test here with its message,
  // rather than leaving them skipped.
  let setupError: unknown;
  beforeAll(async () => {
    try {
      await setUp();
    } catch (err) {
      setupError = err;
    }
  }, 120_000);
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  afterAll(tearDown);

  it('the traffic included created, rejected and busy uploads, 404s and reads', () => {
    expect(trafficLog['upload 201'], JSON.stringify(trafficLog)).toBeGreaterThan(0);
    expect(trafficLog['upload 503'], `no upload was refused busy: ${JSON.stringify(trafficLog)}`).toBeGreaterThan(0);
    expect(trafficLog['GET 404']).toBeGreaterThan(0);
    expect(trafficLog['GET 200']).toBeGreaterThan(0);
  });

  it('every metric a dashboard or rule names is exported by the server', () => {
    const { types } = parseExposition(metricsText);
    const exprs = [
      ...panelQueries.map((q) => q.expr), ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...dashboards.flatMap(({ model }) => model.templating.list.map((v) => v.definition ?? '')),
    ];
    const missing = new Set<string>();
    for (const name of new Set(exprs.flatMap(metricNames))) {
      const base = name.replace(/_(bucket|count|sum)$/, '');
      const ok = types.has(name) || (base !== name && ['histogram', 'summary'].includes(types.get(base) ?? ''));
      if (!ok) missing.add(name);
    }
    expect([...missing], 'metrics used by the dashboards/rules but absent from /metrics').toEqual([]);
  });

  it('the instance variable lists the scraped node', async () => {
    for (const { model } of dashboards) {
      for (const v of model.templating.list.filter((x) => x.type === 'query')) {
        const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(v.definition ?? '');
        expect(m, `variable ${v.name}: ${v.definition}`).not.toBeNull();
        const samples = await expectData(`count by (${m![2]}) (${m![1]})`);
        expect(samples.map((s) => s.metric[m![2]!])).toContain(`127.0.0.1:${server!.port}`);
      }
    }
  });

  describe('every dashboard query returns data', () => {
    for (const { name, expr } of panelQueries) {
      it(name, async () => {
        await expectData(expr);
      });
    }
  });

  describe('every recording rule has recorded data', () => {
    for (const { record } of recordingRules) {
      it(record!, async () => {
        await expectData(record!);
      });
    }
  });

  it('the busy burst shows in the upload error ratio and the read availability is a ratio', async () => {
    const [ratio] = await expectData('onepic:upload_error_ratio:rate5m');
    expect(Number(ratio!.value[1])).toBeGreaterThan(0);
    const [availability] = await expectData('onepic:read_availability:ratio_rate5m');
    expect(Number(availability!.value[1])).toBeGreaterThan(0.5);
    expect(Number(availability!.value[1])).toBeLessThanOrEqual(1);
  });

  it('every rule is loaded and evaluates with health ok', async () => {
    const answer = (await (await fetch(`${promBase}/api/v1/rules`)).json()) as {
      data: { groups: { name: string; rules: { name: string; type: string; health: string; lastError?: string }[] }[] };
    };
    const loaded = new Map(answer.data.groups.flatMap((g) => g.rules.map((r) => [`${r.type}:${r.name}`, r])));
    for (const r of alertingRules) {
      const got = loaded.get(`alerting:${r.alert}`);
      expect(got, `alert ${r.alert} not loaded`).toBeDefined();
      expect(got!.health, `${r.alert}: ${got!.lastError}`).toBe('ok');
    }
    for (const r of recordingRules) {
      const got = loaded.get(`recording:${r.record}`);
      expect(got, `recording rule ${r.record} not loaded`).toBeDefined();
      expect(got!.health, `${r.record}: ${got!.lastError}`).toBe('ok');
    }
  });
});
