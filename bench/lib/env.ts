/**
 * The BENCH_* settings. Each benchmark's header lists the ones it reads; a bad number stops the
 * run before anything starts rather than measuring something nobody asked for.
 */

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name}=${raw}: not a number`);
  return n;
}

export function envNumbers(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((part) => {
    const n = Number(part);
    if (!Number.isFinite(n)) throw new Error(`${name}=${raw}: ${part} is not a number`);
    return n;
  });
}

export const envFlag = (name: string): boolean => process.env[name] === '1';

/** One progress line on stderr, so stdout carries only the report. */
export function logger(label: string): (message: string) => void {
  return (message) => process.stderr.write(`[${label} ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
