import { availableParallelism } from 'node:os';
import { z } from 'zod';

/**
 * Every setting OnePic reads, with its environment variable and default. Only this folder reads
 * process.env; everything else takes the typed Config. A bad value stops start-up with one
 * message that names every bad variable (see loadConfig).
 */

const int = (min: number, max: number) =>
  z.string().trim().regex(/^-?\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number).pipe(z.number().int().min(min, `expected at least ${min}`).max(max, `expected at most ${max}`));
// Seconds to the millisecond (`0.25`), for the few settings tests need finer than whole seconds.
const seconds = (min: number, max: number) =>
  z.string().trim().regex(/^\d+(\.\d{1,3})?$/, `expected seconds from ${min} to ${max}, to at most 3 decimals`)
    .transform(Number).pipe(z.number().min(min, `expected at least ${min}`).max(max, `expected at most ${max}`));
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const list = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
const url = z.string().url('expected an absolute http(s) URL').refine((u) => /^https?:\/\//.test(u), 'expected http or https');

// Each entry: variable name -> [schema, default as the environment would spell it].
const schema = {
  PORT: [int(0, 65535), '8080'],
  HOST: [z.string().min(1), '0.0.0.0'],
  ONEPIC_DATA_DIR: [z.string().min(1), './data'],
  ONEPIC_DISK_RESERVE_MB: [int(0, 1024), '8'],
  ONEPIC_METADATA: [z.enum(['embedded', 'cassandra']), 'embedded'],
  ONEPIC_CASSANDRA_CONTACT_POINTS: [list.pipe(z.array(z.string().regex(/^[^\s:]+(:\d+)?$/, 'expected host or host:port')).min(1)), '127.0.0.1:9042'],
  ONEPIC_CASSANDRA_LOCAL_DC: [z.string().min(1), 'datacenter1'],
  ONEPIC_CASSANDRA_KEYSPACE: [z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'expected a Cassandra identifier'), 'onepic'],
  ONEPIC_CASSANDRA_REPLICATION_FACTOR: [int(1, 9), '1'],
  ONEPIC_BLOBS: [z.enum(['fs', 's3']), 'fs'],
  ONEPIC_S3_ENDPOINT: [url.optional(), undefined],
  ONEPIC_S3_BUCKET: [z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name'), 'onepic'],
  ONEPIC_S3_REGION: [z.string().min(1), 'us-east-1'],
  ONEPIC_S3_FORCE_PATH_STYLE: [bool, 'true'],
  ONEPIC_S3_PREFIX: [z.string().regex(/^(?:[a-z0-9][a-z0-9._-]*\/)*$/, 'expected empty or path segments each ending with "/"'), ''],

  ONEPIC_PUBLIC_URL: [url.optional(), undefined],
  ONEPIC_CACHE_MAX_AGE: [int(0, 31_536_000), '60'],
  ONEPIC_CACHE_STALE_WHILE_REVALIDATE: [int(0, 31_536_000), '600'],
  ONEPIC_ACTIVE_CACHE_TTL_MS: [int(0, 3_600_000), '5000'],
  ONEPIC_ACTIVE_CACHE_ENTRIES: [int(1, 100_000_000), '200000'],
  ONEPIC_RENDITION_CACHE_MB: [int(1, 1_048_576), '256'],
  ONEPIC_PLACEHOLDER_CACHE_MB: [int(1, 1_048_576), '16'],
  ONEPIC_REDIRECT_HOSTS: [list, ''],

  ONEPIC_MAX_UPLOAD_BYTES: [int(1024, 1_073_741_824), String(10 * 1024 * 1024)],
  // 256 MiB of bodies keeps a node well inside a 2 GiB limit with the rendition cache and the
  // workers' images (docs/CONFIGURATION.md, "Upload bodies in flight").
  ONEPIC_UPLOAD_BYTES_IN_FLIGHT: [int(1024, 68_719_476_736), String(256 * 1024 * 1024)],
  ONEPIC_UPLOADS_PER_ACCOUNT: [int(1, 10_000), '4'],
  ONEPIC_MAX_PIXELS: [int(256, 1_000_000_000), '50000000'],
  ONEPIC_MIN_SIDE: [int(1, 4096), '16'],
  ONEPIC_MAX_FRAMES: [int(1, 100_000), '1000'],
  // 768 = the default s (256) at a device pixel ratio of 3, the highest phones use. Renditions of
  // photos up to 512 px lose under 0.35 dB PSNR against those from a 1024 master, 0.6 dB at 768;
  // larger ones are upscaled (bench/master-quality.ts). A 1024 master costs about a quarter more
  // CPU per upload and 60% more storage (bench/results, docs/PERFORMANCE.md).
  ONEPIC_MASTER_SIZE: [int(64, 4096), '768'],
  ONEPIC_MAX_SIZE: [int(1, 4096), '2048'],
  ONEPIC_DEFAULT_SIZE: [int(1, 4096), '256'],
  ONEPIC_WORKERS: [int(1, 256), String(availableParallelism())],
  ONEPIC_WORKER_QUEUE: [int(1, 100_000), '64'],
  ONEPIC_RENDER_QUEUE: [int(1, 100_000), '16'],

  ONEPIC_TOKEN_TTL_DAYS: [int(1, 3650), '30'],
  ONEPIC_LOGIN_FAILURES_PER_ACCOUNT: [int(1, 1_000_000), '10'],
  ONEPIC_LOGIN_FAILURES_PER_IP: [int(1, 1_000_000), '50'],
  ONEPIC_LOGIN_WINDOW_SECONDS: [int(1, 86_400), '900'],
  ONEPIC_TRUST_PROXY: [bool, 'false'],

  ONEPIC_SWEEP_INTERVAL_SECONDS: [seconds(0, 604_800), '3600'],
  ONEPIC_SWEEP_GRACE_SECONDS: [seconds(0, 604_800), '3600'],
  ONEPIC_METRICS_PORT: [int(0, 65535), '9464'],
  // 0: the descriptor limit less an eighth (at least 64) kept for files, stores and workers.
  ONEPIC_MAX_CONNECTIONS: [int(0, 10_000_000), '0'],
  ONEPIC_LOG_LEVEL: [z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'],
  ONEPIC_SHUTDOWN_TIMEOUT_SECONDS: [int(1, 3600), '30'],
} as const satisfies Record<string, readonly [z.ZodType, string | undefined]>;

type Schema = typeof schema;
export type Env = { [K in keyof Schema]: z.output<Schema[K][0]> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`OnePic cannot start; fix these environment variables:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses every variable, then reports every problem at once. */
export function parseEnv(env: NodeJS.ProcessEnv): Env {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, [type, fallback]] of Object.entries(schema)) {
    const raw = env[name] === '' && fallback !== '' ? undefined : env[name];
    const result = (type as z.ZodType).safeParse(raw ?? fallback);
    if (result.success) out[name] = result.data;
    else problems.push(`${name}=${JSON.stringify(raw)}: ${result.error.issues.map((i) => i.message).join('; ')}`);
  }
  const parsed = out as Env;
  if (problems.length === 0) problems.push(...crossChecks(parsed));
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed;
}

function crossChecks(e: Env): string[] {
  const problems: string[] = [];
  if (e.ONEPIC_DEFAULT_SIZE > e.ONEPIC_MAX_SIZE) {
    problems.push(`ONEPIC_DEFAULT_SIZE=${e.ONEPIC_DEFAULT_SIZE}: must not exceed ONEPIC_MAX_SIZE=${e.ONEPIC_MAX_SIZE}`);
  }
  // The largest multipart upload (its form framing included) must fit, or it could never be read.
  if (e.ONEPIC_UPLOAD_BYTES_IN_FLIGHT < e.ONEPIC_MAX_UPLOAD_BYTES + 64 * 1024) {
    problems.push(`ONEPIC_UPLOAD_BYTES_IN_FLIGHT=${e.ONEPIC_UPLOAD_BYTES_IN_FLIGHT}: must be at least ONEPIC_MAX_UPLOAD_BYTES + 65536 (${e.ONEPIC_MAX_UPLOAD_BYTES + 65536})`);
  }
  if (e.ONEPIC_METRICS_PORT !== 0 && e.ONEPIC_METRICS_PORT === e.PORT) {
    problems.push(`ONEPIC_METRICS_PORT=${e.ONEPIC_METRICS_PORT}: must differ from PORT (use 0 to serve /metrics on PORT)`);
  }
  return problems;
}

