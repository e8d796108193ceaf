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
