/**
 * The conditions a figure was taken under (machine, versions, pinning, other load on the
 * machine), recorded with every result and printed under every report: a 2-core benchmark is
 * easily skewed, and a contaminated run should show as one.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { safeExec } from './exec.js';
import { ROOT } from './root.js';

export interface MachineLoad {
  loadavg_1_5_15: number[];
  other_busy_processes: string[];
}

/** Processes (not this benchmark's) using more than 5% CPU, from ps. */
function otherBusy(): string[] {
  const out = safeExec('ps', ['-eo', 'pid,ppid,pcpu,etimes,args', '--sort=-pcpu', '--no-headers']);
  return out.split('\n').map((l) => l.trim().split(/\s+/))
    .filter((f) => Number(f[2]) > 5 && Number(f[0]) !== process.pid && Number(f[1]) !== process.pid)
    .slice(0, 8).map((f) => `${f[2]}% ${f.slice(4).join(' ').slice(0, 80)}`);
}

export const machineLoad = (): MachineLoad => ({ loadavg_1_5_15: loadavg().map((x) => +x.toFixed(2)), other_busy_processes: otherBusy() });

const packageVersion = (path: string): string => {
  try {
    return (JSON.parse(readFileSync(join(ROOT, path, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
};

export interface Conditions {
  date: string;
  machine: { nproc: number; cpu_model: string; mem_gib: number; kernel: string };
  versions: { node: string; onepic: string; onepic_commit: string; uncommitted_src: string[]; sharp: string; [tool: string]: unknown };
  pinning: unknown;
  machine_load_before_run?: MachineLoad;
  machine_load_after_run: MachineLoad;
  [setting: string]: unknown;
}

/** Call when the run is over: the machine load it records is "after the run". */
export function collectConditions<T extends Record<string, unknown>>(extra: T & { versions?: Record<string, unknown> }): Conditions & T {
  const cpuModel = /model name\s*:\s*(.*)/.exec(safeExec('cat', ['/proc/cpuinfo']))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const { versions, ...rest } = extra;
  return {
    date: new Date().toISOString(),
    machine: { nproc: cpus().length, cpu_model: cpuModel, mem_gib: +(totalmem() / 2 ** 30).toFixed(1), kernel: safeExec('uname', ['-r']) },
    versions: {
      node: process.version, onepic: packageVersion('.'), onepic_commit: safeExec('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
      // dist/ is built from the working tree: uncommitted source changes are part of what ran.
      uncommitted_src: safeExec('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src']).split('\n').filter(Boolean),
      sharp: packageVersion('node_modules/sharp'),
      ...versions,
    },
    pinning: { server: 'taskset -c 0', load_generator: 'taskset -c 1' },
    machine_load_after_run: machineLoad(),
    ...rest,
  } as Conditions & T;
}

/** "2 CPUs (model), 23.5 GiB RAM, Linux k; Node v, OnePic v (commit plus uncommitted ...)". */
export function describeMachine(c: Conditions): string {
  const v = c.versions;
  return `${c.machine.nproc} CPUs (${c.machine.cpu_model}), ${c.machine.mem_gib} GiB RAM, Linux ${c.machine.kernel}; `
    + `Node ${v.node}, OnePic ${v.onepic} (${v.onepic_commit}${v.uncommitted_src.length ? ` plus uncommitted ${v.uncommitted_src.join(', ')}` : ''})`;
}

/** The machine load before and after the run, and who else was busy. */
export function describeLoad(c: Conditions): string {
  const one = (when: string, l: MachineLoad | undefined): string => (l ? `Load average ${when} ${l.loadavg_1_5_15.join(' / ')}`
    + (l.other_busy_processes.length ? `, other busy processes (figures skewed by them): ${l.other_busy_processes.join('; ')}.` : ', no other busy processes.') : '');
  return [one('before the run', c.machine_load_before_run), one('after the run', c.machine_load_after_run)].filter(Boolean).join(' ');
}

export interface ImageSet { count: number; width: number; height: number; format: string; bytes_min: number; bytes_max: number; bytes_mean: number }

/** The closing "Conditions: ..." paragraph of the load tests (upload, mixed). */
export function describeLoadTest(c: Conditions & { load_generator: string; concurrency: unknown; duration_s: number; image?: ImageSet }): string {
  const pinning = c.pinning as { server: string; load_generator: string };
  const kib = (bytes: number): number => Math.round(bytes / 1024);
  const img = c.image
    ? `; images: ${c.image.count} distinct ${c.image.width}x${c.image.height} ${c.image.format}, ${kib(c.image.bytes_min)}-${kib(c.image.bytes_max)} KiB (mean ${kib(c.image.bytes_mean)} KiB)`
    : '';
  return `Conditions: ${describeMachine(c)}, sharp ${c.versions.sharp}; `
    + `server ${pinning.server}, load generator ${pinning.load_generator} (${c.load_generator}); `
    + `concurrency ${String(c.concurrency)}, duration ${c.duration_s} s${img}. ${describeLoad(c)} Reproduce: see the header of the script.`;
}
