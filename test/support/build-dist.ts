import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

/**
 * Vitest global setup of every config whose tests start the built server (`dist/main.js`): it
 * brings dist/ up to date with src/ before the first test, and again before every rerun in watch
 * mode or from an IDE, so that no test can pass against a stale build. `tsc -b` (what `npm run
 * build` runs) compares src/ with dist/ and returns at once when nothing changed; when src/ does
 * not compile, the run stops with the compiler's report instead of testing the old dist/.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = promisify(execFile);

export async function buildDist(): Promise<void> {
  try {
    await run(process.execPath, [TSC, '-b', 'tsconfig.build.json'], { cwd: ROOT });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const report = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || e.message;
    throw new Error(`src/ does not build (tsc -b tsconfig.build.json), so the tests would run a stale dist/main.js:\n${report}`);
  }
}

export default async function setup(project: TestProject): Promise<void> {
  await buildDist();
  project.onTestsRerun(() => buildDist());
}
