import { LRUCache } from 'lru-cache';
import type { ActiveLookups } from '../domain/read-caches.js';
import type { ActiveLookup, MetadataStore } from '../metadata/port.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Tally } from '../metrics/tallied-counter.js';

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
 *
 * Metrics: a hit is counted where it is served (peek, or a load that finds a fresh entry); a
 * miss is counted by the load that reads the store, not by the peek before it, so a request
 * that peeks and then loads counts once. An expired entry is counted (reason `expire`) when a
 * fresh read replaces it: they are kept on purpose, so nothing else removes them.
 */
export class ActiveCache implements ActiveLookups {
  private readonly lru: LRUCache<string, ActiveLookup>;
  /** True inside set(): a value replaced there was not expired, only overwritten. */

  private readonly hits: Tally | undefined;
  private readonly misses: Tally | undefined;

  constructor(
    private readonly store: MetadataStore,
    options: { ttlMs: number; maxEntries: number },
    metrics?: Metrics,
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
        // 'set': a fetch replaced an expired entry (a fresh one is never re-fetched).
        if (reason === 'set') metrics?.cacheEvictions.inc({ cache: 'active', reason: 'expire' });
        else if (reason === 'evict' || reason === 'expire') metrics?.cacheEvictions.inc({ cache: 'active', reason });
      },
    });
    metrics?.cacheEntries.report((g) => g.set({ cache: 'active' }, this.lru.size));
    // Series exist from the start, so rate() sees the first event and dashboards show 0, not "no data".
    this.hits = metrics?.cacheLookups.bind({ cache: 'active', result: 'hit' });
    this.misses = metrics?.cacheLookups.bind({ cache: 'active', result: 'miss' });
    for (const reason of ['evict', 'expire']) metrics?.cacheEvictions.inc({ cache: 'active', reason }, 0);
  }

  /** A fresh entry, or undefined: never does I/O. A miss is counted by the load that follows. */
  peek(username: string): ActiveLookup | undefined {
    const value = this.lru.get(username);
    if (value) this.hits?.inc();
    return value;
  }

  /** Reads through to the store; concurrent misses for one name share one read. */
  async load(username: string): Promise<ActiveLookup> {
    // fetch() resolves undefined, not the error, when the store failed and nothing stale was
    // kept (or a change on this node cancelled the read): ask the store once more, so the
    // caller gets its real answer or its real error (503 metadata_unavailable).
    const status: LRUCache.Status<string, ActiveLookup> = {};
    const pending = this.lru.fetch(username, { status });
    (status.fetch === 'hit' ? this.hits : this.misses)?.inc();
    return (await pending) ?? this.store.getActive(username);
  }

  /** After a change on this node: the next read here loads the committed state. Cancels in-flight reads. */
  forget(username: string): void {
    this.lru.delete(username);
  }
}
