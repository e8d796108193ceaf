/**
 * Pinning and CPU accounting. On the 2-core machines these benchmarks were written for, the
 * server (or the code under test) gets CPU 0 and the load generator CPU 1, so neither measures
 * the other; figures are CPU seconds read from /proc, not guessed from wall time.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { run, safeExec } from './exec.js';

export const SERVER_CPU = '0';
export const LOADGEN_CPU = '1';

const CLK_TCK = Number(safeExec('getconf', ['CLK_TCK'])) || 100;

/** utime+stime of a process (all its threads), in seconds: fields 14 and 15 of proc(5). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Moves a running process, every thread of it, onto `cpu`. */
export function pinProcess(pid: number, cpu: string): void {
  execFileSync('taskset', ['-a', '-c', '-p', cpu, String(pid)], { stdio: 'ignore' });
}

/** Runs `node script ...args` on `cpu`; resolves with what it printed on stdout. */
export function runPinnedNode(cpu: string, script: string, args: string[], timeoutMs: number): Promise<string> {
  return run('taskset', ['-c', cpu, process.execPath, script, ...args], timeoutMs);
}

/**
 * For in-process benchmarks: runs `prepare` (unpinned), then re-runs this very script under
 * `taskset -c cpu` and exits with its status; returns only in the pinned copy (marked by
 * BENCH_PINNED=1).
 */
export function runSelfPinned(cpu: string, prepare?: () => void): void {
  if (process.env.BENCH_PINNED === '1') return;
  prepare?.();
  const script = process.argv[1];
  if (!script) throw new Error('no script to re-run');
  const child = spawnSync('taskset', ['-c', cpu, process.execPath, script, ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, BENCH_PINNED: '1' },
  });
  process.exit(child.status ?? 1);
}
