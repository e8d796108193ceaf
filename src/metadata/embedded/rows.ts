import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../../domain/errors.js';
import type { MasterFormat } from '../../domain/imaging.js';
import type { PictureRecord, TokenRecord, UserRecord } from '../port.js';

/** Row shapes as SQLite returns them (dates as integer milliseconds, booleans as 0/1). */
export interface UserRow {
  username: string;
  uid: string;
  password_hash: string;
  created_at: number;
  active_picture_id: string | null;
}

export interface PictureRow {
  username: string;
  id: string;
  label: string;
  hash: string;
  format: string;
  has_alpha: number;
  width: number;
  height: number;
  bytes: number;
  created_at: number;
}

export interface TokenRow {
  token_hash: string;
  username: string;
  uid: string;
  created_at: number;
  expires_at: number;
}

export const PICTURE_COLUMNS = 'username, id, label, hash, format, has_alpha, width, height, bytes, created_at';

export const toUser = (row: UserRow): UserRecord => ({
  username: row.username,
  uid: row.uid,
  passwordHash: row.password_hash,
  createdAt: new Date(row.created_at),
  activePictureId: row.active_picture_id,
});

export const toPicture = (row: PictureRow): PictureRecord => ({
  username: row.username,
  id: row.id,
  label: row.label,
  hash: row.hash,
  // The CHECK constraint in the schema guarantees one of the two.
  format: row.format as MasterFormat,
  hasAlpha: row.has_alpha === 1,
  width: row.width,
  height: row.height,
  bytes: row.bytes,
  createdAt: new Date(row.created_at),
});

export const toToken = (row: TokenRow): TokenRecord => ({
  tokenHash: row.token_hash,
  username: row.username,
  uid: row.uid,
  createdAt: new Date(row.created_at),
  expiresAt: new Date(row.expires_at),
});

/** Named parameters for the picture insert. */
export const pictureParams = (p: PictureRecord) => ({
  username: p.username,
  id: p.id,
  label: p.label,
  hash: p.hash,
  format: p.format,
  has_alpha: p.hasAlpha ? 1 : 0,
  width: p.width,
  height: p.height,
  bytes: p.bytes,
  created_at: p.createdAt.getTime(),
});

/**
 * Result codes that mean the database cannot serve right now (locked past the busy timeout,
 * disk trouble, a damaged or unreadable file), as opposed to a bug in a statement. Only these
 * become a 503; anything else is a programming error and keeps its own stack.
 */
const UNAVAILABLE_CODES = [
  'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_READONLY',
  'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_NOMEM', 'SQLITE_PROTOCOL', 'SQLITE_PERM',
];

export function asStoreError(err: unknown): unknown {
  if (err instanceof Database.SqliteError && UNAVAILABLE_CODES.some((code) => err.code.startsWith(code))) {
    return new StoreUnavailableError('metadata', err);
  }
  // better-sqlite3 reports use after close() as a TypeError rather than a result code.
  if (err instanceof TypeError && /database connection is not open/i.test(err.message)) {
    return new StoreUnavailableError('metadata', err);
  }
  return err;
}
