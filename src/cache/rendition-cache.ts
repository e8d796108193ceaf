import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Metrics } from '../metrics/metrics.js';

/** Bytes ready to send, with what the headers need. */
export interface Rendition {
  bytes: Buffer;
  contentType: string;
  /** Strong ETag from the bytes themselves, so it changes exactly when they do. */
  etag: string;
}

export function toRendition(bytes: Buffer, contentType: string): Rendition {
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
  return { bytes, contentType, etag };
}

// Per-entry bookkeeping counted against the budget, so tiny entries cannot overrun it.
const ENTRY_OVERHEAD = 200;

/**
 * Rendition bytes by key, bounded in bytes. Keys name immutable content (a master hash, a size
 * and a format, or a generated placeholder), so entries never go stale and need no TTL.
 * Concurrent misses for one key share one load.
 */
export class RenditionCache {
  private readonly lru: LRUCache<string, Rendition, () => Promise<Rendition>>;

  constructor(options: { maxBytes: number }, private readonly metrics?: Metrics) {
    this.lru = new LRUCache<string, Rendition, () => Promise<Rendition>>({
      maxSize: options.maxBytes,
      sizeCalculation: (r) => r.bytes.length + ENTRY_OVERHEAD,
      // A single rendition larger than an eighth of the budget is served but not kept.
      maxEntrySize: Math.max(1, Math.floor(options.maxBytes / 8)),
      fetchMethod: (_key, _stale, { context }) => context(),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') metrics?.cacheEvictions.inc({ cache: 'rendition', reason });
      },
    });
    metrics?.gauge('onepic_cache_bytes', 'Bytes held by each byte-bounded cache.', ['cache'], (g) =>
      g.set({ cache: 'rendition' }, this.lru.calculatedSize));
  }

  /** Never does I/O. */
  peek(key: string): Rendition | undefined {
    const value = this.lru.get(key);
    this.metrics?.cacheLookups.inc({ cache: 'rendition', result: value ? 'hit' : 'miss' });
    return value;
  }

  async load(key: string, loader: () => Promise<Rendition>): Promise<Rendition> {
    // Undefined when the entry was dropped while loading (a delete on this node): load uncached.
    return (await this.lru.fetch(key, { context: loader })) ?? loader();
  }

  forgetPrefix(prefix: string): void {
    for (const key of this.lru.keys()) if (key.startsWith(prefix)) this.lru.delete(key);
  }
}
