import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backendEnv } from './backends.js';
import { sleep } from './timing.js';

/**
 * A real OnePic server, the built one (`dist/main.js`, as `npm start` runs it), in a child
 * process on a free port with its own data directory. `npm test` builds before it runs. The
 * end-to-end, observability and integration suites all start their servers here.
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
/**
 * `wrapper` runs the server through a command prefix, e.g. `['prlimit', '--nofile=1024:1024']`
 * for a low descriptor limit; it must exec the server so that `proc.pid` stays the server's.
 */
export async function startServer(
  opts: { env?: Record<string, string>; dataDir?: string; wrapper?: string[] } = {},
): Promise<RunningServer> {
  const dataDir = opts.dataDir ?? (await tempDataDir());
  const port = await freePort();
  const env: Record<string, string> = {
    PORT: String(port), HOST: '127.0.0.1', ONEPIC_DATA_DIR: dataDir, ONEPIC_LOG_LEVEL: 'warn', ONEPIC_WORKERS: '2',
    // Many servers run side by side, so the fixed default metrics port would clash: /metrics
    // on the server's own port (`base`), unless a test asks for a metrics port.
    ONEPIC_METRICS_PORT: '0',
    ...backendEnv(dataDir),
    ...opts.env,
  };
  const [command, ...prefix] = [...(opts.wrapper ?? []), process.execPath];
  const proc = spawn(command!, [...prefix, '--max-semi-space-size=32', MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    await sleep(50);
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
