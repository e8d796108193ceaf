import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreFullError } from '../../../../src/domain/errors.js';
import { DiskReserve } from '../../../../src/metadata/embedded/disk-reserve.js';
import { asStoreError } from '../../../../src/metadata/embedded/store-errors.js';

// The space the embedded store holds back for deletes on a full volume (the full volume itself:
// test/hostile/full-disk.test.ts).

describe('DiskReserve', () => {
  let dir: string;
  let reserve: DiskReserve | undefined;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'onepic-reserve-')); });
  afterEach(() => { reserve?.stopRetrying(); rmSync(dir, { recursive: true, force: true }); });

  it('holds its bytes in a real file, gives them back once, and takes them again', () => {
    const path = join(dir, 'db.reserve');
    reserve = new DiskReserve(path, 3 * 1024 * 1024 + 5);
    expect(reserve.ensure()).toBe(true);
    expect(statSync(path).size).toBe(3 * 1024 * 1024 + 5);
    expect(statSync(path).blocks * 512).toBeGreaterThanOrEqual(3 * 1024 * 1024);
    expect(reserve.release()).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(reserve.release()).toBe(false);
    expect(reserve.ensure()).toBe(true);
    expect(existsSync(path)).toBe(true);
  });

  it('answers false where it cannot make its file, and holds nothing when its size is 0', () => {
    reserve = new DiskReserve(join(dir, 'missing', 'db.reserve'), 1024);
    expect(reserve.ensure()).toBe(false);
    expect(new DiskReserve(join(dir, 'none'), 0).ensure()).toBe(true);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });

  it('a full volume is StoreFullError, still a 503 store error', () => {
    const err = asStoreError(new Database.SqliteError('database or disk is full', 'SQLITE_FULL'));
    expect(err).toBeInstanceOf(StoreFullError);
    expect(err).toMatchObject({ status: 503, code: 'metadata_unavailable' });
  });
});
