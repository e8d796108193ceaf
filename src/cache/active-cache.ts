import { LRUCache } from 'lru-cache';
import type { ActiveLookup, MetadataStore } from '../metadata/port.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * username -> what `/{username}` serves, with a TTL that is the cross-node staleness bound: a
 * node that did not take a change serves the previous picture for at most `ttlMs` (plus one
 * store read). The node that takes a change drops its own entry at once (cancelling any read in
 * flight), so its next read loads what was committed: writing the state it computed instead
 * could let a slower, older change overwrite a newer one.
 *
 * Expired entries are kept (`noDeleteOnStaleGet`) but not served while the store answers; when
 * the store fails, the last known value is served instead of an error (availability over
 * freshness for a public avatar), and the refresh is retried on the next request.
 */
export class ActiveCache {
  private readonly lru: LRUCache<string, ActiveLookup>;

  constructor(
    private readonly store: MetadataStore,
    options: { ttlMs: number; maxEntries: number },
    private readonly metrics?: Metrics,
  ) {
    this.lru = new LRUCache<string, ActiveLookup>({
      max: options.maxEntries,
      ttl: Math.max(1, options.ttlMs),
      updateAgeOnGet: false,
      noDeleteOnStaleGet: true,
      allowStaleOnFetchRejection: true,
      noDeleteOnFetchRejection: true,
      fetchMethod: (username) => this.store.getActive(username),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict' || reason === 'expire') metrics?.cacheEvictions.inc({ cache: 'active', reason });
      },
    });
    metrics?.gauge('onepic_cache_entries', 'Entries held by each cache.', ['cache'], (g) => g.set({ cache: 'active' }, this.lru.size));
  }

  /** A fresh entry, or undefined: never does I/O. */
  peek(username: string): ActiveLookup | undefined {
    const value = this.lru.get(username);
    this.metrics?.cacheLookups.inc({ cache: 'active', result: value ? 'hit' : 'miss' });
    return value;
  }

  /** Reads through to the store; concurrent misses for one name share one read. */
  async load(username: string): Promise<ActiveLookup> {
    // fetch() resolves undefined, not the error, when the store failed and nothing stale was
    // kept (or a change on this node cancelled the read): ask the store once more, so the
    // caller gets its real answer or its real error (503 metadata_unavailable).
    return (await this.lru.fetch(username)) ?? this.store.getActive(username);
  }

  /** Seeds an entry (tests, warm-up). Cancels in-flight reads of it. */
  set(username: string, value: ActiveLookup): void {
    this.lru.set(username, value);
  }

  /** After a change on this node: the next read here loads the committed state. Cancels in-flight reads. */
  forget(username: string): void {
    this.lru.delete(username);
  }
}
