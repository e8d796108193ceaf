import { type MockInstance, vi } from 'vitest';

/**
 * Fake timers that lru-cache's TTLs follow too. lru-cache reads `performance.now()` from the
 * object it captured at import, which vi.useFakeTimers replaces rather than patches; so the
 * real object's `now` is made to follow the fake `Date`. Move time with vi.advanceTimersByTime
 * (which also fires lru-cache's own timer that forgets its cached "now"); undo with useRealClock.
 */

let now: MockInstance<() => number> | undefined;

export function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] });
  now = vi.spyOn(performance, 'now').mockImplementation(() => Date.now());
}

export function useRealClock(): void {
  vi.useRealTimers();
  now?.mockRestore();
  now = undefined;
}
