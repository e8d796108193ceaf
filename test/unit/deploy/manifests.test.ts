import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseEnv, type Env } from '../../../src/config/config.js';
import { FORMAT_EXTENSION, masterHash, publicKey } from '../../../src/domain/keys.js';
import { isWellFormedUsername } from '../../../src/domain/names.js';
import { uploadBodyLimit } from '../../../src/http/parse-body.js';
import { ROUTES } from '../../../src/http/routes/index.js';

/**
 * The deployment files (Dockerfile, deploy/compose, deploy/k8s) against the code they deploy.
 * None of them runs here, so what would break silently is checked instead: variable names and
 * values against the config schema, probes against the route table, ports, the drain against
 * the grace period, selectors against pod labels, upload limits against the proxies' body
 * limits, the nginx hash-key maps against every route that names a user, and the files the
 * server reads at run time against what the image copies.
 */

type Obj = Record<string, any>; // parsed YAML: shapes are asserted, not typed
const ROOT = new URL('../../../', import.meta.url);
const text = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');
const exists = (path: string) => existsSync(new URL(path, ROOT));

// Every variable OnePic reads: parseEnv answers one key per schema entry, unset ones included.
const CONFIG_KEYS = new Set(Object.keys(parseEnv({})));
// Variables read by something other than src/config/config.ts, and why they are allowed.
const OTHER_VARIABLES = new Set([
  'UV_THREADPOOL_SIZE', // src/config/threadpool.ts, before libuv starts
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', // the AWS SDK's default credential chain
  'NODE_ENV',
  'LD_PRELOAD', 'MALLOC_ARENA_MAX', // the allocator: the dynamic loader and glibc (see 'The allocator' below)
]);
const unknownVariables = (names: Iterable<string>) => [...names].filter((n) => !CONFIG_KEYS.has(n) && !OTHER_VARIABLES.has(n));
const configOf = (env: Record<string, string>): Env => parseEnv(env);

/** The route table the server registers its routes from. */
const serverRoutes = () => Object.values(ROUTES);
const getPaths = new Set(serverRoutes().filter((r) => r.method === 'get').map((r) => r.pattern));
const METRICS_PATH = ROUTES.metrics.pattern;

/** nginx sizes (`11m`) and Kubernetes quantities (`2`, `500m` CPU) as numbers. */
const nginxBytes = (size: string) => Number(size.replace(/[kmg]$/i, '')) * 1024 ** ('kmg'.indexOf(size.slice(-1).toLowerCase()) + 1);
const cpuCores = (q: string | number) => (String(q).endsWith('m') ? Number(String(q).slice(0, -1)) / 1000 : Number(q));
const uploadRequestLimit = (env: Env) => uploadBodyLimit(env.ONEPIC_MAX_UPLOAD_BYTES)('multipart/form-data');

// ---------------------------------------------------------------------------------------------
// nginx: the `map` blocks that give $onepic_user, read entry by entry and evaluated as nginx does:
// regexes in order, first match wins, the value with `$1` and named captures substituted and
// other variables (earlier maps) evaluated, else the default. $request_id stands for "no user".

const NO_USER = Symbol('no user');
const REQUEST_ID = '<request_id>';
interface NginxMap { source: string; entries: Array<{ regex: RegExp; value: string }>; fallback: string }

function stripComments(conf: string): string {
  return conf.split('\n').map((line) => line.replace(/^((?:[^#"]|"(?:[^"\\]|\\.)*")*)#.*$/, '$1')).join('\n');
}

/** Every `map $source $target { ... }` block, by target variable. */
function readMaps(conf: string): Map<string, NginxMap> {
  const maps = new Map<string, NginxMap>();
  let current: NginxMap | undefined;
  for (const raw of stripComments(conf).split('\n')) {
    const line = raw.trim();
    const head = /^map\s+\$(\w+)\s+\$(\w+)\s*\{$/.exec(line);
    if (head) {
      current = { source: head[1]!, entries: [], fallback: '' };
      maps.set(head[2]!, current);
    } else if (current && line === '}') current = undefined;
    else if (current && line !== '') {
      const m = /^(?:"((?:[^"\\]|\\.)*)"|(\S+))\s+(?:"((?:[^"\\]|\\.)*)"|(\S+));$/.exec(line);
      expect(m, `a map entry: ${line}`).not.toBeNull();
      const unquote = (v: string) => v.replace(/\\(["'\\])/g, '$1');
      const source = unquote(m![1] ?? m![2]!);
      const value = unquote(m![3] ?? m![4]!);
      if (source === 'default') current.fallback = value;
      else if (source.startsWith('~')) {
        const insensitive = source.startsWith('~*');
        current.entries.push({ regex: new RegExp(source.slice(insensitive ? 2 : 1), insensitive ? 'i' : ''), value });
      } else throw new Error(`exact-match map entries are not expected: ${line}`);
    }
  }
  return maps;
}

/** A variable's value for one request; like nginx, each variable is computed once per request. */
function evaluate(maps: Map<string, NginxMap>, variable: string, uri: string, known = new Map<string, string>()): string {
  if (variable === 'uri') return uri;
  if (variable === 'request_id') return REQUEST_ID;
  const cached = known.get(variable);
  if (cached !== undefined) return cached;
  const map = maps.get(variable);
  if (!map) throw new Error(`$${variable} is neither a map nor a variable this evaluator knows`);
  const input = evaluate(maps, map.source, uri, known);
  const hit = map.entries.map(({ regex, value }) => ({ m: regex.exec(input), value })).find(({ m }) => m);
  const result = (hit?.value ?? map.fallback).replace(/\$(?:\{(\w+)\}|(\w+))/g, (_, braced?: string, bare?: string) => {
    const name = (braced ?? bare)!;
    if (/^\d$/.test(name)) return hit!.m![Number(name)] ?? '';
    return hit?.m?.groups?.[name] ?? evaluate(maps, name, uri, known);
  });
  known.set(variable, result);
  return result;
}

/** Sample URIs of every route, each with the (folded) username it names, or none. */
function routeSamples(): Array<{ uri: string; user: string | typeof NO_USER }> {
  const user = 'a-1-b'.padEnd(39, 'z');
  expect(isWellFormedUsername(user)).toBe(true);
  const key = publicKey({ username: user, hash: masterHash('uid', new Uint8Array([1])), size: 128, format: 'webp' });
  const extensions = new Set(['jpeg', ...Object.values(FORMAT_EXTENSION)]);
  const out: Array<{ uri: string; user: string | typeof NO_USER }> = [];
  for (const { pattern } of serverRoutes()) {
    if (pattern === '/:name') {
      for (const name of [user, user.toUpperCase(), 'ArPiT-9']) {
        out.push({ uri: `/${name}`, user: name.toLowerCase() }, ...[...extensions].map((ext) => ({ uri: `/${name}.${ext}`, user: name.toLowerCase() })));
      }
    } else if (pattern === '/i/:key') {
      out.push({ uri: `/i/${key}`, user });
    } else if (pattern.startsWith('/api/')) {
      const sample = (name: string) => pattern.replace(':username', name).replace(/:\w+/g, '0190b8a2-7c1e-7000-8000-000000000000');
      if (pattern.includes(':username')) out.push({ uri: sample(user), user }, { uri: sample('Arpit'), user: 'arpit' });
      else out.push({ uri: sample(user), user: NO_USER });
    }
  }
  return out;
}

const HASH_KEY = 'onepic_user';
const composeNginx = text('deploy/compose/nginx.conf');
const usernameMapConf = text('deploy/compose/username-map.conf');
const controllerConfig = parse(text('deploy/k8s/ingress-nginx-controller.example.yaml')) as Obj;

describe('nginx hash key by username', () => {
  it('folds every route that names a user to that user, in lower case; the rest spread by request id', () => {
    const maps = readMaps(usernameMapConf);
    const samples = routeSamples();
    expect(samples.filter((s) => s.user !== NO_USER).length).toBeGreaterThan(20);
    for (const { uri, user } of samples) {
      const key = evaluate(maps, HASH_KEY, uri);
      expect({ uri, key: key === REQUEST_ID ? NO_USER : key }).toEqual({ uri, key: user });
    }
  });

  it('is the same map for docker compose and for the ingress-nginx controller', () => {
    expect(controllerConfig.data['http-snippet']).toBe(usernameMapConf);
    const include = /^\s*include\s+(\S+);/m.exec(stripComments(composeNginx))?.[1];
    const nginxMounts = (parse(text('deploy/compose/docker-compose.yml')) as Obj).services.nginx.volumes as string[];
    expect(nginxMounts).toContain(`./username-map.conf:${include}:ro`);
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

const K8S = 'deploy/k8s/';
const kustomization = parse(text(`${K8S}kustomization.yaml`)) as Obj;
const k8s: Obj[] = (kustomization.resources as string[])
  .flatMap((file) => parseAllDocuments(text(K8S + file)).map((d) => d.toJS() as Obj)).filter(Boolean);
const one = (kind: string): Obj => {
  const found = k8s.filter((r) => r.kind === kind);
  expect(found, `one ${kind} in the kustomization`).toHaveLength(1);
  return found[0]!;
};
const deployment = one('Deployment');
const pod = deployment.spec.template.spec as Obj;
const container = (pod.containers as Obj[]).find((c) => c.name === 'onepic')!;
const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;

function envFile(path: string): Record<string, string> {
  const lines = text(path).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
const generated = (kustomization.configMapGenerator as Obj[]).find((g) => g.name === 'onepic-config')!;
const configMap = Object.assign({}, ...(generated.envs as string[]).map((f) => envFile(K8S + f))) as Record<string, string>;
const secretExample = parse(text(`${K8S}secret.example.yaml`)) as Obj;
// What the container sees: the ConfigMap, then `env` (ONEPIC_WORKERS from the CPU limit).
const workersRef = container.env.find((e: Obj) => e.name === 'ONEPIC_WORKERS')?.valueFrom?.resourceFieldRef;
const k8sEnv = configOf({ ...configMap, ONEPIC_WORKERS: String(Math.ceil(cpuCores(container.resources.limits.cpu))) });

describe('Kubernetes manifests (deploy/k8s)', () => {
  it('lists files that exist, generates the ConfigMap the Deployment loads, and leaves the examples out', () => {
    for (const file of kustomization.resources) expect(exists(K8S + file), file).toBe(true);
    expect(kustomization.resources.join()).not.toMatch(/example/);
    const refs = container.envFrom as Obj[];
    expect(refs.find((r) => r.configMapRef)?.configMapRef.name).toBe(generated.name);
    expect(refs.find((r) => r.secretRef)?.secretRef).toEqual({ name: secretExample.metadata.name, optional: true });
    expect(kustomization.images.map((i: Obj) => i.name)).toContain(container.image);
  });

  it('names only variables OnePic reads, with values its config accepts', () => {
    const names = [...Object.keys(configMap), ...container.env.map((e: Obj) => e.name), ...Object.keys(secretExample.stringData)];
    expect(unknownVariables(names)).toEqual([]);
    expect(k8sEnv).toMatchObject({ ONEPIC_METADATA: 'cassandra', ONEPIC_CASSANDRA_REPLICATION_FACTOR: 3, ONEPIC_BLOBS: 's3' });
  });

  it('sizes the imaging pool from the CPU limit, and sets every resource', () => {
    expect(workersRef).toMatchObject({ containerName: container.name, resource: 'limits.cpu' });
    for (const kind of ['requests', 'limits']) expect(Object.keys(container.resources[kind]).sort()).toEqual(['cpu', 'ephemeral-storage', 'memory']);
    expect(Number.isInteger(cpuCores(container.resources.limits.cpu))).toBe(true);
  });

  it('probes routes the server has, on the port it listens on; Prometheus finds the metrics port', () => {
    const port = (name: string) => (container.ports as Obj[]).find((p) => p.name === name)?.containerPort;
    expect(container.startupProbe.httpGet.path).toBe('/healthz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect(getPaths).toContain(container[probe].httpGet.path);
      expect(port(container[probe].httpGet.port)).toBe(k8sEnv.PORT);
    }
    const annotations = deployment.spec.template.metadata.annotations;
    expect(Number(annotations['prometheus.io/port'])).toBe(k8sEnv.ONEPIC_METRICS_PORT);
    expect(port('metrics')).toBe(k8sEnv.ONEPIC_METRICS_PORT);
    expect(annotations['prometheus.io/path']).toBe(METRICS_PATH);
  });

  it('lets the preStop sleep and the drain finish within the grace period', () => {
    const [sleep, pause] = container.lifecycle.preStop.exec.command as string[];
    expect(sleep).toBe('sleep');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(pause) + k8sEnv.ONEPIC_SHUTDOWN_TIMEOUT_SECONDS);
  });

  it('rolls without losing capacity, and leaves the replica count to the autoscaler', () => {
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(deployment.spec.replicas).toBeUndefined();
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(3);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
  });

  it('points the Service, autoscaler, disruption budget and Ingress at the Deployment and its pods', () => {
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    expect(selects(deployment.spec.selector.matchLabels)).toBe(true);
    const service = one('Service');
    expect(selects(service.spec.selector)).toBe(true);
    expect(selects(one('PodDisruptionBudget').spec.selector.matchLabels)).toBe(true);
    expect(one('HorizontalPodAutoscaler').spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    for (const c of pod.topologySpreadConstraints) expect(selects(c.labelSelector.matchLabels)).toBe(true);
    const containerPorts = new Set(container.ports.map((p: Obj) => p.name));
    for (const p of service.spec.ports) expect(containerPorts).toContain(p.targetPort);
    const backend = one('Ingress').spec.rules[0].http.paths[0].backend.service;
    expect(backend.name).toBe(service.metadata.name);
    expect(service.spec.ports.map((p: Obj) => p.name)).toContain(backend.port.name);
  });

  it('runs non-root on a read-only root with /tmp writable, as the image\'s user, without service links', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: dockerUser() });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    const tmp = container.volumeMounts.find((m: Obj) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: Obj) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    // A Service named onepic would otherwise inject ONEPIC_SERVICE_HOST, ONEPIC_PORT, ...
    expect(pod.enableServiceLinks).toBe(false);
  });

  it('hashes the Ingress by the map\'s variable and lets uploads through to OnePic\'s own 413', () => {
    const annotations = one('Ingress').metadata.annotations;
    expect(annotations['nginx.ingress.kubernetes.io/upstream-hash-by']).toBe(`$${HASH_KEY}`);
    expect(readMaps(controllerConfig.data['http-snippet']).has(HASH_KEY)).toBe(true);
    expect(nginxBytes(annotations['nginx.ingress.kubernetes.io/proxy-body-size'])).toBeGreaterThan(uploadRequestLimit(k8sEnv));
  });
});

// ---------------------------------------------------------------------------------------------
// docker compose

const COMPOSE = 'deploy/compose/';
const compose = parse(text(`${COMPOSE}docker-compose.yml`)) as Obj;
const services = compose.services as Record<string, Obj>;
const nodeNames = Object.keys(services).filter((n) => services[n]!.image === 'onepic:local');
/** Compose's interpolation, with nothing set in the environment: defaults, and `$$` for `$`. */
const interpolate = (v: string) => String(v).replace(/\$\$|\$\{(\w+)(?::?-([^}]*))?\}/g, (m, _n, fallback) => (m === '$$' ? '$' : fallback ?? ''));
const envOf = (service: Obj) => Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
const nodeEnv = configOf(envOf(services[nodeNames[0]!]!));
const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1]);
const mounts = (service: Obj) => (service.volumes ?? []).map((v: string) => v.split(':')).filter(([src]: string[]) => src!.startsWith('.'))
  .map(([src, dst]: string[]) => ({ src: posix.join(COMPOSE, src!), dst: dst! }));

describe('docker compose (deploy/compose)', () => {
  it('runs three OnePic nodes from this repository\'s Dockerfile, alike', () => {
    expect(nodeNames).toHaveLength(3);
    for (const name of nodeNames) expect(services[name]).toBe(services[nodeNames[0]!]); // one YAML anchor
    const build = services[nodeNames[0]!]!.build;
    expect(exists(posix.join(COMPOSE, build.context, build.dockerfile))).toBe(true);
  });

  it('names only variables OnePic reads, with values its config accepts, wired to the other services', () => {
    const node = services[nodeNames[0]!]!;
    expect(unknownVariables(Object.keys(node.environment))).toEqual([]);
    const hostOf = (hostPort: string) => hostPort.replace(/^\w+:\/\//, '').split(/[:/]/)[0]!;
    for (const point of nodeEnv.ONEPIC_CASSANDRA_CONTACT_POINTS) expect(services).toHaveProperty([hostOf(point)]);
    expect(envOf(services.cassandra!).CASSANDRA_DC).toBe(nodeEnv.ONEPIC_CASSANDRA_LOCAL_DC);
    expect(services).toHaveProperty([hostOf(nodeEnv.ONEPIC_S3_ENDPOINT!)]);
    const minio = envOf(services.minio!);
    expect(envOf(node)).toMatchObject({ AWS_ACCESS_KEY_ID: minio.MINIO_ROOT_USER, AWS_SECRET_ACCESS_KEY: minio.MINIO_ROOT_PASSWORD });
    const setup = services['minio-setup']!;
    expect(envOf(setup).ONEPIC_S3_BUCKET).toBe(nodeEnv.ONEPIC_S3_BUCKET);
    expect(interpolate(setup.command.join(' '))).toMatch(/mc mb --ignore-existing "local\/\$ONEPIC_S3_BUCKET"/);
  });

  it('starts nodes after their stores, checks readiness on the node\'s port, and drains within the stop grace period', () => {
    const node = services[nodeNames[0]!]!;
    expect(node.depends_on).toEqual({ cassandra: { condition: 'service_healthy' }, 'minio-setup': { condition: 'service_completed_successfully' } });
    expect(node.healthcheck.test.join(' ')).toContain(`127.0.0.1:${nodeEnv.PORT}/readyz`);
    expect(getPaths).toContain('/readyz');
    expect(seconds(node.stop_grace_period)).toBeGreaterThan(nodeEnv.ONEPIC_SHUTDOWN_TIMEOUT_SECONDS);
    for (const [name, service] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries((service.depends_on ?? {}) as Record<string, Obj>)) {
        if (condition === 'service_healthy') expect(services[dep]?.healthcheck, `${name} waits for ${dep}'s healthcheck`).toBeDefined();
      }
    }
  });

  it('mounts files that exist', () => {
    const all = Object.values(services).flatMap(mounts);
    expect(all.length).toBeGreaterThan(4);
    for (const { src } of all) expect(exists(src), src).toBe(true);
  });

  it('routes nginx to every node by username, over HTTP/1.1, with X-Forwarded-For OnePic can trust', () => {
    const conf = stripComments(composeNginx);
    const upstream = /upstream\s+onepic\s*\{([^}]*)\}/.exec(conf)![1]!;
    expect(upstream).toMatch(new RegExp(`hash\\s+\\$${HASH_KEY}\\s+consistent;`));
    const servers = [...upstream.matchAll(/server\s+([\w.-]+):(\d+)/g)].map((m) => [m[1], Number(m[2])]);
    expect(servers).toEqual(nodeNames.map((n) => [n, nodeEnv.PORT]));
    // uWebSockets.js does not answer HTTP/1.0, nginx's default to upstreams.
    expect(conf).toMatch(/proxy_http_version\s+1\.1;/);
    expect(nodeEnv.ONEPIC_TRUST_PROXY).toBe(true);
    expect(conf).toMatch(/proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;/);
    expect(nginxBytes(/client_max_body_size\s+(\w+);/.exec(conf)![1]!)).toBeGreaterThan(uploadRequestLimit(nodeEnv));
    expect(mounts(services.nginx!)).toContainEqual({ src: `${COMPOSE}nginx.conf`, dst: '/etc/nginx/nginx.conf' });
  });

  it('sends the management API over new connections and never resends a POST nginx sent, like deploy/local', () => {
    // A POST written on a kept-alive connection to a node that has just died counts as sent and
    // gets a 502; on a new connection the dead node refuses and nginx passes it to the next node.
    for (const conf of [stripComments(composeNginx), stripComments(text('deploy/local/nginx.conf.template'))]) {
      const api = /location\s+\/api\/\s*\{\s*proxy_pass\s+http:\/\/(\w+);/.exec(conf)?.[1];
      expect(api).toBeDefined();
      expect(new RegExp(`upstream\\s+${api}\\s*\\{([^}]*)\\}`).exec(conf)![1]).not.toMatch(/\bkeepalive\b/);
      expect(conf).not.toMatch(/non_idempotent/);
    }
  });

  it('caps connections per client address at every proxy, below what one node accepts', () => {
    // A node's own cap (server/connection-cap.ts) is one for all clients; one address must not
    // reach it. 896 is the node's automatic cap under a 1,024 descriptor limit, the lowest usual.
    const nodeCapAtLowLimit = 896;
    for (const conf of [stripComments(composeNginx), stripComments(text('deploy/local/nginx.conf.template'))]) {
      const zone = /limit_conn_zone\s+\$binary_remote_addr\s+zone=(\w+):\w+;/.exec(conf)?.[1];
      expect(zone).toBeDefined();
      const perAddress = Number(new RegExp(`limit_conn\\s+${zone}\\s+(\\d+);`).exec(conf)?.[1]);
      expect(perAddress).toBeGreaterThan(0);
      expect(perAddress).toBeLessThan(nodeCapAtLowLimit / 4);
      expect(conf).toMatch(/limit_conn_status\s+429;/);
    }
    const ingressLimit = Number(one('Ingress').metadata.annotations['nginx.ingress.kubernetes.io/limit-connections']);
    expect(ingressLimit).toBeGreaterThan(0);
    expect(ingressLimit).toBeLessThan(nodeCapAtLowLimit / 4);
  });

  it('has Prometheus scrape every node\'s metrics port with OnePic\'s rules, and Grafana load the dashboards', () => {
    const prometheus = mounts(services.prometheus!);
    const configMount = prometheus.find((m: Obj) => m.dst.endsWith('/prometheus.yml'))!;
    const config = parse(text(configMount.src)) as Obj;
    const job = config.scrape_configs.find((j: Obj) => j.job_name === 'onepic');
    expect(job.metrics_path ?? '/metrics').toBe(METRICS_PATH);
    expect(job.static_configs.flatMap((s: Obj) => s.targets)).toEqual(nodeNames.map((n) => `${n}:${nodeEnv.ONEPIC_METRICS_PORT}`));
    for (const rules of config.rule_files) {
      expect(prometheus.map((m: Obj) => m.dst)).toContain(posix.join(posix.dirname(configMount.dst), rules));
    }
    const grafana = mounts(services.grafana!);
    const provisioning = grafana.find((m: Obj) => m.dst === '/etc/grafana/provisioning')!;
    for (const file of readdirSync(new URL(`${provisioning.src}/dashboards/`, ROOT))) {
      const path = (parse(text(`${provisioning.src}/dashboards/${file}`)) as Obj).providers[0].options.path;
      expect(grafana.map((m: Obj) => m.dst)).toContain(path);
    }
    const datasources = JSON.stringify(parse(text(`${provisioning.src}/datasources/prometheus.yaml`))); // values, not comments
    for (const [, name] of datasources.matchAll(/\$\{(\w+)\}/g)) expect(services.grafana!.environment).toHaveProperty([name!]);
  });
});

describe('the example Prometheus config (deploy/prometheus)', () => {
  it('scrapes the default metrics port, not the public one', () => {
    const config = parse(text('deploy/prometheus/prometheus.yml')) as Obj;
    const job = config.scrape_configs.find((j: Obj) => j.job_name === 'onepic');
    const targets: string[] = job.static_configs.flatMap((s: Obj) => s.targets);
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(target.split(':').at(-1)).toBe(String(parseEnv({}).ONEPIC_METRICS_PORT));
  });
});

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction { op: string; args: string }
const dockerfile = text('Dockerfile').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  .map((l): Instruction => ({ op: l.split(/\s+/)[0]!.toUpperCase(), args: l.slice(l.search(/\s/) + 1).trim() }));
const stages = dockerfile.reduce<Instruction[][]>((acc, i) => (i.op === 'FROM' ? [...acc, [i]] : (acc.at(-1)?.push(i), acc)), []);
const runtime = stages.at(-1)!;
const args = (op: string, stage = runtime) => stage.filter((i) => i.op === op).map((i) => i.args);
/** One entry per COPY source: `COPY [--from=stage] src... dst`, dst resolved against WORKDIR. */
const copies = (stage: Instruction[]) => args('COPY', stage).flatMap((a) => {
  const words = a.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice(7);
  const paths = words.filter((w) => !w.startsWith('--'));
  const dst = posix.resolve(args('WORKDIR', stage).at(-1) ?? '/', paths.at(-1)!);
  const intoDirectory = paths.length > 2 || /(^\.|\/)$/.test(paths.at(-1)!);
  return paths.slice(0, -1).map((src) => ({ from, src, dst: intoDirectory ? posix.join(dst, posix.basename(src)) : dst }));
});
function dockerUser(): number {
  const user = args('USER').at(-1) ?? '';
  expect(user, 'USER as uid:gid numbers, so runAsNonRoot can check it').toMatch(/^\d+:\d+$/);
  return Number(user.split(':')[0]);
}

/** `new URL('<relative>', import.meta.url)` in src/, as paths relative to the built file in dist/. */
function runtimeFiles(): Array<{ from: string; path: string }> {
  const files = readdirSync(new URL('src/', ROOT), { recursive: true, encoding: 'utf8' }).filter((f) => /\.[cm]?ts$/.test(f));
  return files.flatMap((file) => [...text(`src/${file}`).matchAll(/new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g)]
    .map((m) => ({ from: `src/${file}`, path: posix.join('dist', posix.dirname(file), m[1]!) })));
}

describe('Dockerfile', () => {
  const workdir = args('WORKDIR').at(-1)!;

  it('builds with dev dependencies and the npm that honours allowScripts, then ships production ones only', () => {
    const build = stages.find((s) => /\bAS\s+build$/i.test(s[0]!.args))!;
    const run = args('RUN', build).join('\n');
    expect(run).toMatch(/npm ci\b/);
    expect(run).toMatch(/npm run build\b/);
    expect(run).toMatch(/npm prune --omit=dev\b/);
    if ('allowScripts' in JSON.parse(text('package.json'))) {
      expect(Number(/NPM_VERSION=(\d+)/.exec(args('ARG', build).join(' '))?.[1])).toBeGreaterThanOrEqual(11);
    }
    const fromBuild = copies(runtime).filter((c) => c.from === 'build').map((c) => c.src);
    expect(fromBuild.sort()).toEqual(['/app/dist', '/app/node_modules']);
  });

  it('runs dist/main.js as package.json says, as a non-root uid, on the default PORT, stopping on SIGTERM', () => {
    const pkg = JSON.parse(text('package.json'));
    // The same command as `npm start` after its build step: node, its flags, then the main file.
    // Leading NAME=value assignments are the environment, checked in 'The allocator' below.
    const start = String(pkg.scripts.start).split('&&').at(-1)!.trim().split(/\s+/).filter((w) => !/^\w+=/.test(w));
    expect(start.at(-1)).toBe(pkg.main);
    expect(JSON.parse(args('CMD').at(-1)!)).toEqual(start);
    expect(copies(runtime).map((c) => c.dst)).toContain(posix.join(workdir, 'package.json')); // "type": "module"
    expect(dockerUser()).toBeGreaterThan(0);
    expect(args('EXPOSE')).toEqual([String(parseEnv({}).PORT)]);
    expect(args('STOPSIGNAL')).toEqual(['SIGTERM']);
    const healthcheck = args('HEALTHCHECK').join(' ');
    expect(healthcheck).toMatch(/\/healthz'/);
    expect(getPaths).toContain('/healthz');
  });

  it('ships every file the server opens relative to its own code', () => {
    const found = runtimeFiles();
    expect(found.length).toBeGreaterThan(0);
    const shipped = copies(runtime).filter((c) => !c.from);
    for (const { from, path } of found) {
      if (path.startsWith('dist/')) {
        // Built by tsc from the source file of the same name: .ts -> .js, .cts -> .cjs, .mts -> .mjs.
        const source = `src/${path.slice(5).replace(/\.([cm]?)js$/, '.$1ts')}`;
        expect(exists(source), `${from} opens ${path}, built from ${source}`).toBe(true);
      } else {
        const target = posix.join(workdir, path);
        const copied = shipped.some((c) => c.dst === target || (target.startsWith(`${c.dst}/`) && statSync(new URL(c.src, ROOT)).isDirectory()));
        expect(copied, `${from} opens ${path}; the runtime stage must COPY it to ${target}`).toBe(true);
        expect(exists(path), path).toBe(true);
      }
    }
  });

  it('copies only what .dockerignore lets into the build context', () => {
    const ignore = text('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(ignore[0], 'an allow-list: everything out, then named paths back in').toBe('*');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    for (const { src } of stages.flatMap(copies).filter((c) => !c.from)) {
      expect(allowed.some((a) => src === a || src.startsWith(`${a}/`)), `${src} is in the build context`).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The allocator: glibc's malloc fragments under libvips (docs/OPERATIONS.md, "Memory per node"),
// and the k8s memory limit is sized for jemalloc. Each way of running OnePic must keep its setting.

const JEMALLOC = '/usr/local/lib/libjemalloc.so.2';
const ALLOCATOR_ENV = { LD_PRELOAD: JEMALLOC, MALLOC_ARENA_MAX: '2' };

describe('The allocator', () => {
  it('npm start caps glibc at 2 arenas (it needs no package on the host)', () => {
    const start = String(JSON.parse(text('package.json')).scripts.start).split('&&').at(-1)!.trim();
    expect(start).toMatch(/^MALLOC_ARENA_MAX=2 node /);
  });

  it('the image installs jemalloc at the path it preloads, with the glibc cap as fallback', () => {
    const env = Object.fromEntries(args('ENV').flatMap((a) => a.split(/\s+/)).map((kv) => kv.split('=') as [string, string]));
    expect(env).toMatchObject(ALLOCATOR_ENV);
    const run = args('RUN').join('\n');
    expect(run).toMatch(/apt-get install .*\blibjemalloc2\b/);
    expect(run).toContain(`libjemalloc.so.2" ${JEMALLOC}`);
  });

  it('the Kubernetes Deployment and every compose node state it too', () => {
    const k8s = Object.fromEntries((container.env as Obj[]).filter((e) => 'value' in e).map((e) => [e.name, e.value]));
    expect(k8s).toMatchObject(ALLOCATOR_ENV);
    for (const name of nodeNames) expect(envOf(services[name]!)).toMatchObject(ALLOCATOR_ENV);
  });
});
