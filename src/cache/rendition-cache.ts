import { LRUCache } from 'lru-cache';
import type { RenditionLookups } from '../domain/read-caches.js';
import type { Rendition } from '../domain/rendition.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Tally } from '../metrics/tallied-counter.js';

// Per-entry bookkeeping counted against the budget, so tiny entries cannot overrun it.
const ENTRY_OVERHEAD = 200;

/**
 * Rendition bytes by key, bounded in bytes. Keys name immutable content (a master hash, a size
 * and a format, or a generated placeholder), so entries never go stale and need no TTL.
 * Concurrent misses for one key share one load.
 *
 * Metrics: hits are counted where served (peek, or a load finding the entry); a miss by the
 * load that runs the loader (or joins one in flight), not by the peek before it.
 */
export class RenditionCache implements RenditionLookups {
  private readonly lru: LRUCache<string, Rendition, () => Promise<Rendition>>;

  private readonly hits: Tally | undefined;
  private readonly misses: Tally | undefined;

  /** `name` labels the metrics: 'rendition' for pictures, 'placeholder' for generated ones. */
  constructor(options: { maxBytes: number; name?: 'rendition' | 'placeholder' }, metrics?: Metrics) {
    const cache = options.name ?? 'rendition';
    this.lru = new LRUCache<string, Rendition, () => Promise<Rendition>>({
      maxSize: options.maxBytes,
      sizeCalculation: (r) => r.bytes.length + ENTRY_OVERHEAD,
      // A single rendition larger than an eighth of the budget is served but not kept.
      maxEntrySize: Math.max(1, Math.floor(options.maxBytes / 8)),
      fetchMethod: (_key, _stale, { context }) => context(),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') metrics?.cacheEvictions.inc({ cache, reason });
      },
    });
    metrics?.cacheEntries.report((g) => g.set({ cache }, this.lru.size));
    metrics?.cacheBytes.report((g) => g.set({ cache }, this.lru.calculatedSize));
    // Series exist from the start, so rate() sees the first event and dashboards show 0, not "no data".
    this.hits = metrics?.cacheLookups.bind({ cache, result: 'hit' });
    this.misses = metrics?.cacheLookups.bind({ cache, result: 'miss' });
    metrics?.cacheEvictions.inc({ cache, reason: 'evict' }, 0);
  }

  /** Never does I/O. A miss is counted by the load that follows. */
  peek(key: string): Rendition | undefined {
    const value = this.lru.get(key);
    if (value) this.hits?.inc();
    return value;
  }

  async load(key: string, loader: () => Promise<Rendition>): Promise<Rendition> {
    const status: LRUCache.Status<string, Rendition, () => Promise<Rendition>> = {};
    const pending = this.lru.fetch(key, { context: loader, status });
    (status.fetch === 'hit' ? this.hits : this.misses)?.inc();
    // Undefined when the entry was dropped while loading (a delete on this node): load uncached.
    return (await pending) ?? loader();
  }

  forgetPrefix(prefix: string): void {
    for (const key of this.lru.keys()) if (key.startsWith(prefix)) this.lru.delete(key);
  }
}
