/** Child processes: run a command for its output, and ask a tool for its version. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';

/** Runs a command, stderr passed through; resolves with its stdout once it exits 0. */
export function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${cmd} timed out`)); }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
    });
  });
}

/** A command's trimmed stdout, or '' when it is missing or fails: for the conditions, never for figures. */
export function safeExec(cmd: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** First line of a tool's version; some (nginx -v, wrk -v) print it on stderr or exit non-zero. */
export function toolVersion(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] || 'unknown';
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
