import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waiting in tests: for a condition (polled often, with a generous deadline, so a loaded machine
 * is slower but not flaky) rather than for a fixed time. Units that measure time themselves get
 * a fake clock instead (fake-clock.ts).
 */

export { sleep };

/** How often `eventually` looks again: short, so a test goes on soon after the condition holds. */
const POLL_MS = 25;

/** Polls `check` until it returns true or `ms` pass; returns the last answer. */
export async function eventually(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS);
  }
}
