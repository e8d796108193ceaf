import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backendEnv } from './backends.js';

/**
 * A real OnePic server, the built one (`dist/main.js`, as `npm start` runs it), in a child
 * process on a free port with its own data directory. `npm test` builds before it runs.
 */
export interface RunningServer {
  base: string;
  port: number;
  dataDir: string;
  env: Record<string, string>;
  proc: ChildProcess;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

const MAIN = path.resolve(import.meta.dirname, '../../dist/main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function tempDataDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'onepic-e2e-'));
}

/** Starts a server and waits until /readyz answers 200. Pass `dataDir` to reuse one (restarts). */
export async function startServer(opts: { env?: Record<string, string>; dataDir?: string } = {}): Promise<RunningServer> {
  const dataDir = opts.dataDir ?? (await tempDataDir());
  const port = await freePort();
  const env: Record<string, string> = {
    PORT: String(port), HOST: '127.0.0.1', ONEPIC_DATA_DIR: dataDir, ONEPIC_LOG_LEVEL: 'warn', ONEPIC_WORKERS: '2',
    ...backendEnv(dataDir),
    ...opts.env,
  };
  const proc = spawn(process.execPath, ['--max-semi-space-size=32', MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode} during start:\n${out}`);
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not become ready within 20 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base, port, dataDir, env, proc,
    output: () => out,
    stop: async () => { proc.kill('SIGTERM'); return exited; },
    kill: async () => { proc.kill('SIGKILL'); await exited; },
  };
}

export async function removeDataDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Registers a user and returns its bearer token. */
export async function register(base: string, username: string, password = 'correct horse battery'): Promise<string> {
  const res = await fetch(`${base}/api/v1/users`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
  });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Uploads raw image bytes; returns the response. */
export function upload(base: string, username: string, token: string, bytes: Uint8Array, query = '', contentType = 'image/jpeg'): Promise<Response> {
  return fetch(`${base}/api/v1/users/${username}/pictures${query}`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType }, body: bytes,
  });
}

// ---- Helpers of the race, crash and sweeper suites: distinct images, metrics, polling ----

/** Well separated colours: any two differ by more than 60 on average per channel. */
const PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [230, 30, 30], [30, 200, 30], [30, 30, 230], [230, 230, 30], [30, 220, 220], [220, 30, 220], [240, 240, 240], [20, 20, 20],
];

/**
 * A JPEG of colour `PALETTE[seed % 8]` with a faint seeded texture, so that every seed gives
 * different bytes (a different content address) and seeds of different colours are told apart
 * by meanDifference. `side` scales the cost of processing it.
 */
export async function distinctJpeg(seed: number, side = 96): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const base = PALETTE[seed % PALETTE.length]!;
  const pixels = Buffer.alloc(side * side * 3);
  let x = (seed * 2654435761 + 12345) >>> 0 || 1;
  for (let i = 0; i < pixels.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    pixels[i] = Math.max(0, Math.min(255, base[i % 3]! + (x % 25) - 12));
  }
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** The value of a counter (without labels) in the server's /metrics; 0 when absent. */
export async function metricValue(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/** Polls `check` every 100 ms until it returns true or `ms` pass; returns the last answer. */
export async function eventually(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
