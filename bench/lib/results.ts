/**
 * Where results go: the report on stdout, and in the results folder (bench/results, or
 * BENCH_RESULTS_DIR for trial runs that must not replace the recorded figures)
 * `<name>-latest.md` and `<name>-latest.json`, plus one line per run in `history/<name>.jsonl`.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './root.js';

export function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR || join(ROOT, 'bench', 'results');
}

export function publish(name: string, result: unknown, markdown: string): void {
  process.stdout.write(`\n${markdown}\n`);
  const dir = resultsDir();
  mkdirSync(join(dir, 'history'), { recursive: true });
  writeFileSync(join(dir, `${name}-latest.md`), `${markdown}\n`);
  writeFileSync(join(dir, `${name}-latest.json`), `${JSON.stringify(result, null, 2)}\n`);
  appendFileSync(join(dir, 'history', `${name}.jsonl`), `${JSON.stringify(result)}\n`);
  process.stderr.write(`wrote ${name}-latest.md, ${name}-latest.json and history/${name}.jsonl in ${shown(dir)}\n`);
}

function shown(dir: string): string {
  const rel = relative(ROOT, dir);
  return rel.startsWith('..') ? dir : rel;
}
