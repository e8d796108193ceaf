/**
 * The OnePic server as the benchmarks run it: dist/main.js (built from the working tree first),
 * started the way `npm start` starts it, embedded stores in a temp dir, one imaging thread.
 * Benchmarks talk to it over HTTP only, so they do not depend on how src/ is arranged.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envFlag } from './env.js';
import { sleep } from './exec.js';
import { pinProcess, SERVER_CPU } from './cpu.js';
import { ROOT } from './root.js';

/** `npm run build`, unless BENCH_SKIP_BUILD=1. */
export function buildServer(): void {
  if (envFlag('BENCH_SKIP_BUILD')) return;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until `url` answers with anything below 500. */
export async function waitHttp(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`the process behind ${url} exited with ${child.exitCode}`);
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.status < 500) return;
    } catch { /* not up yet */ }
    if (Date.now() > end) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface BenchServer {
  child: ChildProcess;
  pid: number;
  port: number;
  base: string;
  dataDir: string;
  /** Moves the server, all its threads, onto SERVER_CPU (for servers started unpinned). */
  pin(): void;
  /** Stops the server and deletes its data; safe to call more than once. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Extra ONEPIC_* variables. */
  env?: Record<string, string>;
  /** Start on SERVER_CPU (default), or on any core, to be pinned later with pin(). */
  pinned?: boolean;
}

export async function startServer(options: ServerOptions = {}): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'onepic-bench-'));
  const port = await freePort();
  const env = {
    ...process.env, PORT: String(port), HOST: '127.0.0.1', ONEPIC_DATA_DIR: dataDir,
    ONEPIC_METADATA: 'embedded', ONEPIC_BLOBS: 'fs', ONEPIC_WORKERS: '1',
    ONEPIC_LOG_LEVEL: 'warn', ONEPIC_SWEEP_INTERVAL_SECONDS: '0',
    // The runs read /metrics from `base`, and must not clash with a server on the default metrics port.
    ONEPIC_METRICS_PORT: '0', ...options.env,
  };
  // As `npm start` runs it (package.json), node flags included.
  const node = [process.execPath, '--max-semi-space-size=32', join(ROOT, 'dist', 'main.js')];
  const [cmd, ...args] = options.pinned === false ? node : ['taskset', '-c', SERVER_CPU, ...node];
  const child = spawn(cmd ?? process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  let stopping = false;
  let stopped: Promise<void> | undefined;
  child.on('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`bench: the OnePic server exited during the run (code ${code}, signal ${signal})\n`);
  });
  const kill = (): void => { if (child.exitCode === null) child.kill('SIGKILL'); };
  process.on('exit', kill);
  const base = `http://127.0.0.1:${port}`;
  await waitHttp(`${base}/healthz`, 20_000, child);
  // taskset execs node in place, so the spawned pid is the server's.
  const pid = child.pid ?? 0;
  return {
    child, pid, port, base, dataDir,
    pin: () => pinProcess(pid, SERVER_CPU),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        child.kill('SIGTERM');
        await new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          setTimeout(resolve, 5000);
        });
        process.off('exit', kill);
        rmSync(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
