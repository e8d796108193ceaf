import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActiveCache } from '../../../src/cache/active-cache.js';
import { RenditionCache } from '../../../src/cache/rendition-cache.js';
import { toRendition } from '../../../src/domain/rendition.js';
import type { ActiveLookup, MetadataStore } from '../../../src/metadata/port.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { useFakeClock, useRealClock } from '../../support/fake-clock.js';
import { seriesValue } from '../../support/metrics.js';

const store = { getActive: async (): Promise<ActiveLookup> => ({ kind: 'no_active', uid: 'u1' }) } as unknown as MetadataStore;
const lookups = (metrics: Metrics, cache: string, result: string) => seriesValue(metrics, 'onepic_cache_lookups_total', { cache, result });
const evictions = (metrics: Metrics, cache: string, reason: string) => seriesValue(metrics, 'onepic_cache_evictions_total', { cache, reason });

beforeEach(useFakeClock);
afterEach(useRealClock);

describe('cache metrics', () => {
  it('lets several caches report through one registry (each gauge is created once)', async () => {
    const metrics = new Metrics();
    const a = new ActiveCache(store, { ttlMs: 60_000, maxEntries: 10 }, metrics);
    const r = new RenditionCache({ maxBytes: 1 << 20 }, metrics);
    await a.load('x');
    await r.load('k', async () => toRendition(Buffer.alloc(1000), 'image/png'));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^onepic_cache_entries\{cache="active"\} 1$/m);
    expect(text).toMatch(/^onepic_cache_entries\{cache="rendition"\} 1$/m);
    expect(text).toMatch(/^onepic_cache_bytes\{cache="rendition"\} 1200$/m); // bytes plus the per-entry overhead
    // Building more caches on the same registry (as tests and a second server do) never re-registers a name.
    expect(() => new ActiveCache(store, { ttlMs: 1, maxEntries: 1 }, metrics)).not.toThrow();
    expect(() => new RenditionCache({ maxBytes: 1 }, metrics)).not.toThrow();
  });

  it('counts a peek followed by a load as one miss, and a later peek as a hit', async () => {
    const metrics = new Metrics();
    const cache = new ActiveCache(store, { ttlMs: 60_000, maxEntries: 10 }, metrics);
    expect(cache.peek('a')).toBeUndefined();
    await cache.load('a');
    expect(cache.peek('a')).toBeDefined();
    await cache.load('a'); // found in memory: a hit too
    expect(await lookups(metrics, 'active', 'miss')).toBe(1);
    expect(await lookups(metrics, 'active', 'hit')).toBe(2);
  });

  it('counts active entries pushed out for room (evict) and replaced after their TTL (expire)', async () => {
    const metrics = new Metrics();
    const cache = new ActiveCache(store, { ttlMs: 30, maxEntries: 1 }, metrics);
    await cache.load('a');
    await cache.load('b');
    expect(await evictions(metrics, 'active', 'evict')).toBe(1);
    vi.advanceTimersByTime(31);
    await cache.load('b');
    expect(await evictions(metrics, 'active', 'expire')).toBe(1);
    // Forgetting one after a change is neither.
    cache.forget('b');
    expect(await evictions(metrics, 'active', 'expire')).toBe(1);
    expect(await evictions(metrics, 'active', 'evict')).toBe(1);
  });

  it('counts rendition hits, misses and evictions, and reports the bytes held', async () => {
    const metrics = new Metrics();
    const cache = new RenditionCache({ maxBytes: 10_000 }, metrics);
    const load = (key: string) => cache.load(key, async () => toRendition(Buffer.alloc(1000, key), 'image/jpeg'));
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']) await load(key); // 1200 each: 8 fit in 10_000
    expect(cache.peek('j')).toBeDefined();
    expect(cache.peek('a')).toBeUndefined();
    expect(await lookups(metrics, 'rendition', 'miss')).toBe(10);
    expect(await lookups(metrics, 'rendition', 'hit')).toBe(1);
    expect(await evictions(metrics, 'rendition', 'evict')).toBe(2);
    expect(await seriesValue(metrics, 'onepic_cache_entries', { cache: 'rendition' })).toBe(8);
    expect(await seriesValue(metrics, 'onepic_cache_bytes', { cache: 'rendition' })).toBe(9600);
  });
});
