import { describe, expect, it } from 'vitest';
import { RenditionCache } from '../../../src/cache/rendition-cache.js';
import { toRendition, type Rendition } from '../../../src/domain/rendition.js';

/** A loader that counts its calls and answers `bytes` bytes filled with the key's first letter. */
function counting(bytes = 100) {
  const calls: string[] = [];
  const loaderFor = (key: string) => async (): Promise<Rendition> => {
    calls.push(key);
    return toRendition(Buffer.alloc(bytes, key), 'image/jpeg');
  };
  return { calls, loaderFor };
}

describe('rendition cache', () => {
  it('answers a second load from memory, and shares one load between concurrent misses', async () => {
    const cache = new RenditionCache({ maxBytes: 1 << 20 });
    const { calls, loaderFor } = counting();
    expect(cache.peek('k')).toBeUndefined();
    const [x, y] = await Promise.all([cache.load('k', loaderFor('k')), cache.load('k', loaderFor('k'))]);
    expect(x.etag).toBe(y.etag);
    expect(calls).toEqual(['k']);
    expect(cache.peek('k')?.etag).toBe(x.etag);
    await cache.load('k', loaderFor('k'));
    expect(calls).toEqual(['k']);
  });

  it('serves a rendition larger than an eighth of the budget without keeping it', async () => {
    const cache = new RenditionCache({ maxBytes: 8000 });
    const { calls, loaderFor } = counting(1000);
    expect((await cache.load('big', loaderFor('big'))).bytes.length).toBe(1000);
    expect(cache.peek('big')).toBeUndefined();
    await cache.load('big', loaderFor('big'));
    expect(calls).toEqual(['big', 'big']);
  });

  it('forgets every key under a prefix at once, and only those', async () => {
    const cache = new RenditionCache({ maxBytes: 1 << 20 });
    const { calls, loaderFor } = counting();
    const gone = ['alice.h1.32.jpeg', 'alice.h1.64.webp'];
    const kept = ['alice.h2.32.jpeg', 'alicex.h1.32.jpeg', 'bob.h1.32.jpeg'];
    for (const key of [...gone, ...kept]) await cache.load(key, loaderFor(key));
    cache.forgetPrefix('alice.h1.');
    for (const key of gone) expect(cache.peek(key), key).toBeUndefined();
    for (const key of kept) expect(cache.peek(key), key).toBeDefined();
    // The next read of a forgotten key loads again.
    calls.length = 0;
    await cache.load(gone[0]!, loaderFor(gone[0]!));
    expect(calls).toEqual([gone[0]]);
  });
});
