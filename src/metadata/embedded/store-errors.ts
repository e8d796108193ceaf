import Database from 'better-sqlite3';
import { StoreFullError, StoreUnavailableError } from '../../domain/errors.js';

/**
 * The one place the embedded store decides which driver errors mean "the database cannot serve
 * now" (StoreUnavailableError, a 503) rather than a bug, which keeps its own stack.
 *
 * Serving, that is result codes for a database locked past the busy timeout, disk trouble, or a
 * damaged or unreadable file. Opening, any SQLite error: a file the service cannot open and
 * migrate leaves it with no store at all, whatever the code says.
 */
const UNAVAILABLE_CODES = [
  'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_READONLY',
  'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_NOMEM', 'SQLITE_PROTOCOL', 'SQLITE_PERM',
];

/** SQLite's answer to a write on a volume without room (ENOSPC). */
export const isVolumeFull = (err: unknown): boolean => err instanceof Database.SqliteError && err.code.startsWith('SQLITE_FULL');

export function asStoreError(err: unknown, when: 'opening' | 'serving' = 'serving'): unknown {
  if (isVolumeFull(err)) return new StoreFullError('metadata', err);
  if (err instanceof Database.SqliteError && (when === 'opening' || UNAVAILABLE_CODES.some((code) => err.code.startsWith(code)))) {
    return new StoreUnavailableError('metadata', err);
  }
  // better-sqlite3 reports use after close() as a TypeError rather than a result code.
  if (when === 'serving' && err instanceof TypeError && /database connection is not open/i.test(err.message)) {
    return new StoreUnavailableError('metadata', err);
  }
  return err;
}
