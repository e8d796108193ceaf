import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../../../src/blobs/fs/fs-blob-store.js';
import type { BlobInfo } from '../../../../src/blobs/port.js';
import { StoreUnavailableError } from '../../../../src/domain/errors.js';
import { collect } from '../../../support/stores.js';

describe('FsBlobStore', () => {
  let dir: string;
  let root: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onepic-fs-'));
    root = join(dir, 'blobs');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** A temp file as an interrupted put would leave it, `ageMs` old. */
  async function leftoverTemp(name: string, ageMs: number): Promise<string> {
    const path = join(root, '.tmp', name);
    await writeFile(path, 'half an upload');
    const then = new Date(Date.now() - ageMs);
    await utimes(path, then, then);
    return path;
  }

  it('never lists a leftover temp file, and sweepTemp removes it', async () => {
    const store = await FsBlobStore.open({ root });
    await store.put('a/h1/master', Buffer.from('x'), 'image/jpeg');
    await leftoverTemp('crashed.tmp', 60_000);
    expect((await collect(store.list(''))).map((b) => b.key)).toEqual(['a/h1/master']);
    expect(await store.sweepTemp(0)).toBe(1);
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
  });

  it('keeps young temp files, which may belong to a put in flight', async () => {
    const store = await FsBlobStore.open({ root });
    await leftoverTemp('in-flight.tmp', 1_000);
    expect(await store.sweepTemp(60_000)).toBe(0);
    expect(await readdir(join(root, '.tmp'))).toEqual(['in-flight.tmp']);
  });

  it('removes stale temp files when opened', async () => {
    await FsBlobStore.open({ root });
    await leftoverTemp('stale.tmp', 60 * 60_000);
    await leftoverTemp('fresh.tmp', 0);
    await FsBlobStore.open({ root, staleTempMs: 30 * 60_000 });
    expect(await readdir(join(root, '.tmp'))).toEqual(['fresh.tmp']);
  });

  it('leaves no temp file behind after a put', async () => {
    const store = await FsBlobStore.open({ root });
    await Promise.all([1, 2, 3].map(() => store.put('a/h1/master', Buffer.alloc(1000, 7), 'image/jpeg')));
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
  });

  it('removes directories emptied by delete and deletePrefix, but not the root', async () => {
    const store = await FsBlobStore.open({ root });
    await store.put('a/h1/master', Buffer.from('x'), 'image/jpeg');
    await store.put('b/h1/master', Buffer.from('x'), 'image/jpeg');
    await store.delete('a/h1/master');
    await store.deletePrefix('b/h1/');
    expect((await readdir(root)).sort()).toEqual(['.tmp']);
    await store.put('a/h1/master', Buffer.from('y'), 'image/jpeg');
    expect(await store.get('a/h1/master')).toEqual(Buffer.from('y'));
  });

  const badKeys = ['', '/a/b', 'a//b', 'a/b/', 'a/../b', '../a', 'a/./b', '.tmp/x', 'A/b', 'a/b c', 'a\\b', 'a/\u00e9'];

  it.each(badKeys)('rejects the bad key %j with a plain Error', async (key) => {
    const store = await FsBlobStore.open({ root });
    for (const attempt of [
      () => store.put(key, Buffer.from('x'), 'image/jpeg'),
      () => store.get(key),
      () => store.head(key),
      () => store.delete(key),
    ]) {
      const error = await attempt().then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(StoreUnavailableError);
    }
    expect(await readdir(dir)).toEqual(['blobs']);
  });

  it('rejects bad prefixes', async () => {
    const store = await FsBlobStore.open({ root });
    await expect(store.deletePrefix('')).rejects.toThrow(/ending with '\/'/);
    await expect(store.deletePrefix('../')).rejects.toThrow();
    await expect(collect(store.list('a/../'))).rejects.toThrow();
    await expect(collect(store.list('.tmp/'))).rejects.toThrow();
  });

  it('reports an unwritable root as StoreUnavailableError', async () => {
    const store = await FsBlobStore.open({ root });
    await rm(root, { recursive: true });
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
