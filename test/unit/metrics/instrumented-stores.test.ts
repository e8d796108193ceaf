import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BlobInfo, BlobStore } from '../../../src/blobs/port.js';
import { StoreUnavailableError } from '../../../src/domain/errors.js';
import type { MetadataStore } from '../../../src/metadata/port.js';
import { instrumentBlobStore, instrumentMetadataStore } from '../../../src/metrics/instrumented-stores.js';
import { Metrics } from '../../../src/metrics/metrics.js';
import { seriesValue } from '../../support/metrics.js';

const meta = (operation: string) => ({ store: 'metadata', backend: 'embedded', operation });
const blob = (operation: string) => ({ store: 'blobs', backend: 'fs', operation });

/** A clock the test moves by hand, so timings are exact and no assertion depends on the machine's speed. */
function fakeClock() {
  let now = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  return { advance: (ms: number) => { now += ms; } };
}

afterEach(() => { vi.restoreAllMocks(); });

describe('instrumented metadata store', () => {
  it('times each operation under its own name, and counts a null answer as a result, not an error', async () => {
    const clock = fakeClock();
    const metrics = new Metrics();
    const store = instrumentMetadataStore({
      getUser: async () => { clock.advance(3); return null; },
      createUser: async () => false,
    } as unknown as MetadataStore, 'embedded', metrics);

    expect(await store.getUser('nobody')).toBeNull();
    expect(await store.createUser({} as never)).toBe(false);
    expect(await seriesValue(metrics, 'onepic_store_operation_seconds_count', meta('getUser'))).toBe(1);
    expect(await seriesValue(metrics, 'onepic_store_operation_seconds_sum', meta('getUser'))).toBeCloseTo(0.003, 9);
    expect(await seriesValue(metrics, 'onepic_store_operation_seconds_count', meta('createUser'))).toBe(1);
    expect(await seriesValue(metrics, 'onepic_store_errors_total', meta('getUser'))).toBe(0);
    expect(await seriesValue(metrics, 'onepic_store_errors_total', meta('createUser'))).toBe(0);
  });

  it('counts a thrown error and rethrows it unchanged, still timing the attempt', async () => {
    const metrics = new Metrics();
    const failure = new StoreUnavailableError('metadata', new Error('down'));
    const store = instrumentMetadataStore({ getActive: async () => { throw failure; } } as unknown as MetadataStore, 'cassandra', metrics);

    await expect(store.getActive('a')).rejects.toBe(failure);
    const labels = { store: 'metadata', backend: 'cassandra', operation: 'getActive' };
    expect(await seriesValue(metrics, 'onepic_store_errors_total', labels)).toBe(1);
    expect(await seriesValue(metrics, 'onepic_store_operation_seconds_count', labels)).toBe(1);
  });
});

/** A blob store whose list yields `keys`, taking 5 ms per step, and records whether it was closed early. */
function listingStore(keys: string[], clock: { advance(ms: number): void }, failAfter = Infinity) {
  const state = { returned: false };
  const store = {
    list: () => ({
      [Symbol.asyncIterator]: (): AsyncIterator<BlobInfo> => {
        let i = 0;
        return {
          next: async () => {
            clock.advance(5);
            if (i >= failAfter) throw new StoreUnavailableError('blobs', new Error('gone'));
            return i < keys.length ? { done: false, value: { key: keys[i++]!, size: 1, modifiedAt: new Date(0) } } : { done: true, value: undefined };
          },
          return: async () => { state.returned = true; return { done: true, value: undefined }; },
        };
      },
    }),
  } as unknown as BlobStore;
  return { store, state };
}

describe('instrumented blob store', () => {
  it('observes a listing once, charging only the time spent in the store, not the consumer\'s work between items', async () => {
    const clock = fakeClock();
    const metrics = new Metrics();
    const { store } = listingStore(['a/1', 'a/2', 'a/3'], clock);
    const seen: string[] = [];
    for await (const info of instrumentBlobStore(store, 'fs', metrics).list('')) {
      seen.push(info.key);
      clock.advance(100); // the sweeper asking the metadata store about the key
    }
    expect(seen).toEqual(['a/1', 'a/2', 'a/3']);
    expect(await seriesValue(metrics, 'onepic_store_operation_seconds_count', blob('list'))).toBe(1);
    // Four next() calls (three items and the end) of 5 ms each.
    expect(await seriesValue(metrics, 'onepic_store_operation_seconds_sum', blob('list'))).toBeCloseTo(0.02, 9);
  });

  it('observes a listing the consumer stops early, and lets the store release it', async () => {
    const clock = fakeClock();
    const metrics = new Metrics();
    const { store, state } = listingStore(['a/1', 'a/2', 'a/3'], clock);
    for await (const info of instrumentBlobStore(store, 'fs', metrics).list('')) if (info.key === 'a/1') break;
    expect(state.returned).toBe(true);
    expect(await seriesValue(metrics, 'onepic_store_operation_seconds_count', blob('list'))).toBe(1);
    expect(await seriesValue(metrics, 'onepic_store_errors_total', blob('list'))).toBe(0);
  });

  it('counts a listing that fails part way as one error', async () => {
    const clock = fakeClock();
    const metrics = new Metrics();
    const { store } = listingStore(['a/1', 'a/2', 'a/3'], clock, 2);
    const seen: string[] = [];
    await expect((async () => {
      for await (const info of instrumentBlobStore(store, 's3', metrics).list('')) seen.push(info.key);
    })()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(seen).toEqual(['a/1', 'a/2']);
    const labels = { store: 'blobs', backend: 's3', operation: 'list' };
    expect(await seriesValue(metrics, 'onepic_store_errors_total', labels)).toBe(1);
    expect(await seriesValue(metrics, 'onepic_store_operation_seconds_count', labels)).toBe(1);
  });

  it('times the other operations, a missing key (null) being no error', async () => {
    const metrics = new Metrics();
    const store = instrumentBlobStore({ get: async () => null, head: async () => null, put: async () => undefined } as unknown as BlobStore, 'fs', metrics);
    expect(await store.get('a/b')).toBeNull();
    expect(await store.head('a/b')).toBeNull();
    await store.put('a/b', new Uint8Array(1), 'image/jpeg');
    for (const op of ['get', 'head', 'put']) {
      expect(await seriesValue(metrics, 'onepic_store_operation_seconds_count', blob(op))).toBe(1);
      expect(await seriesValue(metrics, 'onepic_store_errors_total', blob(op))).toBe(0);
    }
  });
});
