import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../../../src/domain/errors.js';
import { asStoreError } from '../../../../src/metadata/embedded/store-errors.js';

// The embedded backend's one decision of which failures mean "the store cannot serve now" (503).

describe('embedded: asStoreError', () => {
  const sqlite = (code: string) => new Database.SqliteError('x', code);

  it('serving: only the result codes of a database that cannot serve, and use after close', () => {
    expect(asStoreError(sqlite('SQLITE_BUSY'))).toBeInstanceOf(StoreUnavailableError);
    expect(asStoreError(sqlite('SQLITE_IOERR_WRITE'))).toBeInstanceOf(StoreUnavailableError);
    expect(asStoreError(new TypeError('The database connection is not open'))).toBeInstanceOf(StoreUnavailableError);
    const bug = sqlite('SQLITE_ERROR');
    expect(asStoreError(bug)).toBe(bug);
    const other = new TypeError('bug');
    expect(asStoreError(other)).toBe(other);
  });

  it('opening: any SQLite error, since the store cannot start', () => {
    expect(asStoreError(sqlite('SQLITE_ERROR'), 'opening')).toBeInstanceOf(StoreUnavailableError);
    const other = new TypeError('bug');
    expect(asStoreError(other, 'opening')).toBe(other);
  });
});
