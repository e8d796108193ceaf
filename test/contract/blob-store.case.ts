import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobInfo, BlobStore } from '../../src/blobs/port.js';
import { collect } from '../support/stores.js';
import { sleep } from '../support/timing.js';

export type BlobStoreFactory = () => Promise<{ store: BlobStore; cleanup: () => Promise<void> }>;

/**
 * The behaviour every BlobStore backend must have (filesystem, S3). The factory runs before
 * each case; every case works under its own random first segment, so a factory may hand out
 * stores that share one directory or bucket.
 */
export function describeBlobStoreContract(name: string, factory: BlobStoreFactory): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let cleanup: () => Promise<void>;
    let root: string;

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
      root = `c-${randomBytes(6).toString('hex')}`;
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    const keysOf = async (prefix: string) => (await collect(store.list(prefix))).map((b) => b.key).sort();

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('returns exactly the bytes that were put, and their size', async () => {
      const key = `${root}/h1/master`;
      const bytes = new Uint8Array(Array.from({ length: 512 }, (_, i) => i % 256));
      await store.put(key, bytes, 'image/jpeg');
      expect(await store.get(key)).toEqual(Buffer.from(bytes));
      const info = await store.head(key);
      expect(info).toMatchObject({ key, size: 512 });
      expect(info!.modifiedAt).toBeInstanceOf(Date);
    });

    it('stores a 5 MiB object intact', async () => {
      const key = `${root}/h1/master`;
      const bytes = randomBytes(5 * 1024 * 1024);
      await store.put(key, bytes, 'image/png');
      expect((await store.get(key))!.equals(bytes)).toBe(true);
      expect((await store.head(key))!.size).toBe(bytes.length);
    });

    it('accepts a put of an existing key and refreshes its modification time', async () => {
      const key = `${root}/h1/256.webp`;
      const bytes = randomBytes(100);
      await store.put(key, bytes, 'image/webp');
      const before = (await store.head(key))!.modifiedAt;
      // Some backends (S3) keep modification times to the second.
      await sleep(1_100);
      await store.put(key, bytes, 'image/webp');
      expect((await store.head(key))!.modifiedAt.getTime()).toBeGreaterThan(before.getTime());
      expect((await store.get(key))!.equals(bytes)).toBe(true);
    });

    it('survives concurrent puts of the same key with the content intact', async () => {
      const key = `${root}/h1/master`;
      const bytes = randomBytes(1024 * 1024);
      await Promise.all(Array.from({ length: 8 }, () => store.put(key, bytes, 'image/jpeg')));
      expect((await store.get(key))!.equals(bytes)).toBe(true);
      expect(await keysOf(`${root}/`)).toEqual([key]);
    });

    it('returns null from get and head for a missing key', async () => {
      expect(await store.get(`${root}/h1/master`)).toBeNull();
      expect(await store.head(`${root}/h1/master`)).toBeNull();
    });

    it('deletes a key, and deleting a missing key succeeds', async () => {
      const key = `${root}/h1/master`;
      await store.put(key, randomBytes(10), 'image/jpeg');
      await store.put(`${root}/h1/64.png`, randomBytes(10), 'image/png');
      await store.delete(key);
      expect(await store.get(key)).toBeNull();
      expect(await store.head(key)).toBeNull();
      await expect(store.delete(key)).resolves.toBeUndefined();
      await expect(store.delete(`${root}/h2/master`)).resolves.toBeUndefined();
      expect(await keysOf(`${root}/`)).toEqual([`${root}/h1/64.png`]);
    });

    describe('prefixes', () => {
      const layout = ['a/h1/master', 'a/h1/256.webp', 'a/h10/master', 'a/h2/master', 'b/h1/master'];
      const keys = () => layout.map((k) => `${root}/${k}`).sort();

      beforeEach(async () => {
        await Promise.all(keys().map((key) => store.put(key, randomBytes(16), 'application/octet-stream')));
      });

      it('deletes exactly the keys under a prefix, not a sibling that shares its start', async () => {
        await store.deletePrefix(`${root}/a/h1/`);
        expect(await keysOf(`${root}/`)).toEqual([`${root}/a/h10/master`, `${root}/a/h2/master`, `${root}/b/h1/master`]);
        expect(await store.get(`${root}/a/h1/master`)).toBeNull();
        await expect(store.deletePrefix(`${root}/a/h1/`)).resolves.toBeUndefined();
      });

      it('refuses a delete prefix without a trailing slash, since it would take siblings too', async () => {
        await expect(store.deletePrefix(`${root}/a/h1`)).rejects.toThrow();
        expect(await keysOf(`${root}/`)).toEqual(keys());
      });

      it('lists keys by prefix, whole or partial segments', async () => {
        expect(await keysOf(`${root}/a/h1/`)).toEqual([`${root}/a/h1/256.webp`, `${root}/a/h1/master`]);
        expect(await keysOf(`${root}/a/h1`)).toEqual([`${root}/a/h1/256.webp`, `${root}/a/h1/master`, `${root}/a/h10/master`]);
        expect(await keysOf(`${root}/b/`)).toEqual([`${root}/b/h1/master`]);
        expect(await keysOf(`${root}/c/`)).toEqual([]);
      });

      it('lists every key with the empty prefix, with sizes and times', async () => {
        const all = await collect(store.list(''));
        const mine = all.filter((b) => b.key.startsWith(`${root}/`));
        expect(mine.map((b) => b.key).sort()).toEqual(keys());
        for (const info of mine) {
          expect(info.size).toBe(16);
          expect(info.modifiedAt).toBeInstanceOf(Date);
        }
      });
    });
  });
}
