import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { PictureRecord, TokenRecord, UserRecord } from '../../src/metadata/port.js';

/** Records with random names and ids, so cases never collide even in a shared database. */

export const randomHex = (length: number) => randomBytes(Math.ceil(length / 2)).toString('hex').slice(0, length);

/** Whole milliseconds: every backend stores dates to the millisecond. */
const now = () => new Date(Date.now());

export function newUser(): UserRecord {
  return {
    username: `u-${randomHex(12)}`,
    uid: randomHex(32),
    passwordHash: `scrypt$16384$8$1$${randomHex(32)}$${randomHex(64)}`,
    createdAt: now(),
    activePictureId: null,
  };
}

export function newPicture(username: string, overrides: Partial<PictureRecord> = {}): PictureRecord {
  return {
    username,
    id: uuidv7(),
    label: 'a picture',
    hash: randomHex(32),
    format: 'jpeg',
    hasAlpha: false,
    width: 512,
    height: 512,
    bytes: 48_213,
    createdAt: now(),
    ...overrides,
  };
}

export function newToken(user: UserRecord): TokenRecord {
  return {
    tokenHash: randomHex(64),
    username: user.username,
    uid: user.uid,
    createdAt: now(),
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

export const sortById = (pictures: PictureRecord[]) => [...pictures].sort((a, b) => a.id.localeCompare(b.id));

export type UserWithPictures = (
  count: number,
  activeIndex?: number,
) => Promise<{ user: UserRecord; pictures: PictureRecord[] }>;
