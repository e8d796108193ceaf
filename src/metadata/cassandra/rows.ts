import type { types } from 'cassandra-driver';
import type { MasterFormat } from '../../domain/imaging.js';
import type { PictureRecord, TokenRecord, UserRecord } from '../port.js';

type Row = types.Row;

/**
 * A partition with no clustering rows still answers a SELECT with one row of its statics and
 * nulls for the picture columns; such a row is not a picture.
 */
export const isPictureRow = (row: Row): boolean => row.get('picture_id') != null && row.get('label') != null;

/** Whether the statics name an account (a partition tombstone leaves no statics at all). */
export const hasAccount = (row: Row | null | undefined): row is Row => row != null && row.get('uid') != null;

export function toUser(username: string, row: Row): UserRecord {
  return {
    username,
    uid: row.get('uid'),
    passwordHash: row.get('password_hash'),
    createdAt: row.get('created_at'),
    activePictureId: row.get('active_picture_id') ?? null,
  };
}

export function toPicture(username: string, row: Row): PictureRecord {
  return {
    username,
    id: row.get('picture_id'),
    label: row.get('label'),
    hash: row.get('hash'),
    // Only the picture inserts write this column (pictureSetParams below), from a MasterFormat.
    format: row.get('format') as MasterFormat,
    hasAlpha: row.get('has_alpha'),
    width: row.get('width'),
    height: row.get('height'),
    bytes: row.get('bytes'),
    createdAt: row.get('picture_created_at'),
  };
}

export function toToken(row: Row): TokenRecord {
  return {
    tokenHash: row.get('token_hash'),
    username: row.get('username'),
    uid: row.get('uid'),
    createdAt: row.get('created_at'),
    expiresAt: row.get('expires_at'),
  };
}

/** The SET list of the picture inserts (statements.ts), in order. */
export const pictureSetParams = (p: PictureRecord): unknown[] => [
  p.label, p.hash, p.format, p.hasAlpha, p.width, p.height, p.bytes, p.createdAt, p.id,
];

/** Cassandra's TTL ceiling (20 years); a longer one is refused outright. */
const MAX_TTL_SECONDS = 630_720_000;

/**
 * Seconds until `expiresAt`, rounded up so that the row outlives the instant it expires (reads
 * filter on expires_at, so a second's slack never serves an expired token). Zero or less means
 * the token is already dead: TTL 0 would mean "forever" to Cassandra, so callers skip the write.
 */
export function ttlSeconds(expiresAt: Date, now = Date.now()): number {
  return Math.min(MAX_TTL_SECONDS, Math.ceil((expiresAt.getTime() - now) / 1000));
}
