import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, statfs, unlink, utimes } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StoreFullError, StoreUnavailableError } from '../../domain/errors.js';
import type { BlobInfo, BlobStore } from '../port.js';
import { checkDeletePrefix, checkKey, checkListPrefix, splitPrefix } from '../keys.js';

export interface FsBlobStoreOptions {
  /** The directory that holds the blobs; created if missing. */
  root: string;
  /**
   * open() removes temp files older than this. Younger ones may belong to a put still in
   * flight in another process sharing the root (e.g. during a rolling restart). Default 15 min.
   */
  staleTempMs?: number;
  /** ping() reports the store full (StoreFullError) when the volume has less free than this. Default 0. */
  minFreeBytes?: number;
}

const TEMP_DIR = '.tmp';
/** Error codes that mean "no such key" when a key's path is read or removed. */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);
/** Error codes that mean the volume has no room: no space, or the user's quota spent. */
const FULL = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Blobs as files under one root: the key `arpit/<hash>/master` is the file
 * `<root>/arpit/<hash>/master`. A put writes and fsyncs a temp file in `<root>/.tmp/`, renames
 * it into place and fsyncs the directory, so a crash leaves the whole object or none; the
 * temp file a crash leaves behind is removed by sweepTemp(). Build it with `await FsBlobStore.open()`.
 */
export class FsBlobStore implements BlobStore {
  private readonly root: string;
  private readonly tempDir: string;

  private constructor(root: string, private readonly minFreeBytes: number) {
    // Absolute, so that walking up from a key's directory recognises the root when it meets it.
    this.root = resolve(root);
    this.tempDir = join(this.root, TEMP_DIR);
  }

  /** Creates the root and its temp directory, and removes stale temp files of earlier crashes. */
  static async open(options: FsBlobStoreOptions): Promise<FsBlobStore> {
    const store = new FsBlobStore(options.root, options.minFreeBytes ?? 0);
    await store.io(() => mkdir(store.tempDir, { recursive: true }));
    await store.sweepTemp(options.staleTempMs ?? 15 * 60_000);
    return store;
  }

  async put(key: string, bytes: Uint8Array, _contentType: string): Promise<void> {
    // The type is not stored: keys carry their extension, and the master's format is metadata.
    checkKey(key);
    const path = this.pathOf(key);
    await this.io(async () => {
      if (await touch(path)) return;
      const temp = join(this.tempDir, `${randomUUID()}.tmp`);
      let placed = false;
      try {
        await writeDurably(temp, bytes);
        await this.renameIntoPlace(temp, path);
        placed = true;
      } finally {
        if (!placed) await rm(temp, { force: true }).catch(() => undefined);
      }
    });
  }

  async get(key: string): Promise<Buffer | null> {
    checkKey(key);
    return this.io(() => readFile(this.pathOf(key)).catch(nullIfMissing));
  }

  async head(key: string): Promise<BlobInfo | null> {
    checkKey(key);
    const info = await this.io(() => stat(this.pathOf(key)).catch(nullIfMissing));
    return info?.isFile() ? { key, size: info.size, modifiedAt: info.mtime } : null;
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    const path = this.pathOf(key);
    await this.io(() => unlink(path).catch(nullIfMissing));
    await this.pruneEmptyDirs(dirname(path));
  }

  async deletePrefix(prefix: string): Promise<void> {
    checkDeletePrefix(prefix);
    const dir = this.pathOf(prefix.slice(0, -1));
    // Retries cover a put that adds a file while the tree is being removed (ENOTEMPTY).
    await this.io(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }));
    await this.pruneEmptyDirs(dirname(dir));
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    checkListPrefix(prefix);
    const { dir, tail } = splitPrefix(prefix);
    for await (const key of this.walk(dir, tail)) {
      const info = await this.io(() => stat(this.pathOf(key)).catch(nullIfMissing));
      // A key deleted since the directory was read is simply not listed.
      if (info?.isFile()) yield { key, size: info.size, modifiedAt: info.mtime };
    }
  }

  /** Removes temp files older than `olderThanMs` left by interrupted puts. Returns how many. */
  async sweepTemp(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of (await this.io(() => readdir(this.tempDir).catch(nullIfMissing))) ?? []) {
      const path = join(this.tempDir, name);
      const info = await this.io(() => stat(path).catch(nullIfMissing));
      if (info && info.mtimeMs <= cutoff) {
        await this.io(() => rm(path, { force: true, recursive: true }));
        removed++;
      }
    }
    return removed;
  }

  async ping(): Promise<void> {
    await this.io(() => access(this.tempDir, constants.W_OK));
    const { bavail, bsize } = await this.io(() => statfs(this.root));
    const free = bavail * bsize;
    if (free < this.minFreeBytes) throw new StoreFullError('blobs', new Error(`${free} bytes free, below ${this.minFreeBytes}`));
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  /** Keys under `<root>/<dir>` whose first segment below it starts with `tail`. */
  private async *walk(dir: string, tail: string): AsyncGenerator<string> {
    const entries = await this.io(() => readdir(join(this.root, dir), { withFileTypes: true }).catch(nullIfMissing));
    for (const entry of entries ?? []) {
      if (entry.name.startsWith('.') || !entry.name.startsWith(tail)) continue;
      if (entry.isDirectory()) yield* this.walk(`${dir}${entry.name}/`, '');
      else if (entry.isFile()) yield `${dir}${entry.name}`;
    }
  }

  private async renameIntoPlace(temp: string, path: string): Promise<void> {
    const dir = dirname(path);
    for (let attempt = 1; ; attempt++) {
      const firstCreated = await mkdir(dir, { recursive: true });
      try {
        await rename(temp, path);
      } catch (err) {
        // A concurrent delete can prune the directory between mkdir and rename: make it again.
        if (errorCode(err) === 'ENOENT' && attempt < 3) continue;
        throw err;
      }
      // The new entry, and every directory mkdir created, is durable only once its parent is synced.
      const stop = firstCreated === undefined ? dir : dirname(firstCreated);
      for (let d = dir; ; d = dirname(d)) {
        await syncDirectory(d);
        if (d === stop || d === this.root || dirname(d) === d) return;
      }
    }
  }

  /** Best effort: empty directories cost nothing but clutter, and a put recreates what it needs. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; d !== this.root && d.startsWith(this.root); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return;
      }
    }
  }

  /** Runs file system calls, with their failures mapped by asStoreError. */
  private async io<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      throw asStoreError(err);
    }
  }
}

/**
 * The one place the fs store decides what means "the disk cannot serve now": any failed system
 * call (EIO, EACCES, ...) becomes StoreUnavailableError, a volume without room StoreFullError;
 * other errors are bugs and keep their stack.
 */
function asStoreError(err: unknown): unknown {
  if (errorCode(err) === undefined || !('syscall' in (err as object))) return err;
  return FULL.has(errorCode(err)!) ? new StoreFullError('blobs', err) : new StoreUnavailableError('blobs', err);
}

function errorCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function nullIfMissing(err: unknown): null {
  if (MISSING.has(errorCode(err) ?? '')) return null;
  throw err;
}

/** Refreshes the modification time of an existing object; false when there is none. */
async function touch(path: string): Promise<boolean> {
  const now = new Date();
  return utimes(path, now, now).then(() => true, (err) => nullIfMissing(err) ?? false);
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const file = await open(path, 'wx', 0o644);
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } catch (err) {
    // Some filesystems (certain network and FUSE mounts) cannot fsync a directory at all.
    if (errorCode(err) !== 'EINVAL') throw err;
  } finally {
    await dir.close();
  }
}
