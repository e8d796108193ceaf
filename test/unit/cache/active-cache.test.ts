import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActiveCache } from '../../../src/cache/active-cache.js';
import type { ActiveLookup, MetadataStore } from '../../../src/metadata/port.js';
import { useFakeClock, useRealClock } from '../../support/fake-clock.js';

/** A store stand-in whose getActive answers from a variable and counts calls. */
function fakeStore() {
  const state = { value: { kind: 'no_active', uid: 'u1' } as ActiveLookup, calls: 0, fail: false };
  const store = {
    getActive: async () => {
      state.calls += 1;
      if (state.fail) throw new Error('store down');
      return state.value;
    },
  } as unknown as MetadataStore;
  return { store, state };
}

const OLD: ActiveLookup = { kind: 'no_active', uid: 'u1' };
const NEW: ActiveLookup = { kind: 'no_user' };

beforeEach(useFakeClock);
afterEach(useRealClock);

describe('active cache', () => {
  it('answers hits from memory and shares one store read between concurrent misses', async () => {
    const { store, state } = fakeStore();
    const cache = new ActiveCache(store, { ttlMs: 60_000, maxEntries: 10 });
    expect(cache.peek('a')).toBeUndefined();
    const [x, y] = await Promise.all([cache.load('a'), cache.load('a')]);
    expect(x).toEqual(y);
    expect(state.calls).toBe(1);
    expect(cache.peek('a')).toEqual(state.value);
    expect(state.calls).toBe(1);
  });

  it('serves an entry until the TTL and not after: the cross-node staleness bound', async () => {
    const { store, state } = fakeStore();
    const cache = new ActiveCache(store, { ttlMs: 50, maxEntries: 10 });
    await cache.load('a');
    state.value = NEW;
    vi.advanceTimersByTime(50);
    expect(cache.peek('a'), 'still within the TTL').toEqual(OLD);
    vi.advanceTimersByTime(1);
    expect(cache.peek('a')).toBeUndefined();
    expect(await cache.load('a')).toEqual(NEW);
    expect(state.calls).toBe(2);
  });

  it('serves the last known value when the store fails after expiry', async () => {
    const { store, state } = fakeStore();
    const cache = new ActiveCache(store, { ttlMs: 20, maxEntries: 10 });
    const before = await cache.load('a');
    state.fail = true;
    vi.advanceTimersByTime(21);
    expect(await cache.load('a')).toEqual(before);
    await expect(cache.load('never-seen')).rejects.toThrow('store down');
  });

  it('forgets one name at once, so its next read loads what the store holds now', async () => {
    const { store, state } = fakeStore();
    const cache = new ActiveCache(store, { ttlMs: 60_000, maxEntries: 10 });
    await cache.load('a');
    await cache.load('b');
    state.value = NEW;
    cache.forget('a');
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b'), 'other names are kept').toEqual(OLD);
    expect(await cache.load('a')).toEqual(NEW);
    expect(state.calls).toBe(3);
    expect(cache.peek('a')).toEqual(NEW);
  });

  it('forgetting a name cancels a read of it in flight: the older answer is not kept', async () => {
    const { store, state } = fakeStore();
    const cache = new ActiveCache(store, { ttlMs: 60_000, maxEntries: 10 });
    const inFlight = cache.load('a'); // reads the old value
    state.value = NEW;
    cache.forget('a');
    await inFlight.catch(() => undefined);
    expect(cache.peek('a')).toBeUndefined();
    expect(await cache.load('a')).toEqual(NEW);
  });
});
