import type { MasterFormat } from '../domain/imaging.js';

/**
 * The metadata port. Everything a user owns lives under one key, the username: the account,
 * its pictures and the pointer to the active one. In Cassandra that is one partition (the
 * active pointer a static column), so every method that changes state here is a single
 * atomic, conditional step in the store, never read-then-write in application code.
 */

export interface UserRecord {
  /** Folded to lower case; the partition key. */
  username: string;
  /**
   * A random id given at registration. Blob keys and tokens carry it, so an account that is
   * deleted and registered again under the same name shares nothing with its predecessor.
   */
  uid: string;
  /** Self-describing scrypt hash: `scrypt$N$r$p$salt$hash` (see domain/passwords.ts). */
  passwordHash: string;
  createdAt: Date;
  activePictureId: string | null;
}

export interface PictureRecord {
  username: string;
  /** Time-ordered (UUIDv7) and opaque; lists sort by it, newest first. */
  id: string;
  label: string;
  /** Content address of the master rendition: hex, see domain/keys.ts. */
  hash: string;
  format: MasterFormat;
  hasAlpha: boolean;
  /** Side of the square master rendition, in pixels. */
  width: number;
  height: number;
  /** Byte length of the master rendition. */
  bytes: number;
  createdAt: Date;
}

export interface TokenRecord {
  /** SHA-256 of the token, hex: the token itself is never stored. */
  tokenHash: string;
  username: string;
  /** The uid of the account the token was issued to; a token of a deleted account is dead. */
  uid: string;
  createdAt: Date;
  expiresAt: Date;
}

/** What the read path needs to serve `/{username}`. */
export type ActiveLookup =
  | { kind: 'no_user' }
  | { kind: 'no_active'; uid: string }
  | { kind: 'active'; uid: string; picture: PictureRecord };

export interface MetadataStore {
  /** Creates the user only if the name is free. Returns false when it was taken. */
  createUser(user: UserRecord): Promise<boolean>;
  getUser(username: string): Promise<UserRecord | null>;
  /**
   * Deletes the account and every picture in one step. Returns the pictures it held
   * (so their blobs can be removed), or null when there was no such user.
   */
  deleteUser(username: string): Promise<PictureRecord[] | null>;

  putToken(token: TokenRecord): Promise<void>;
  /** Returns the token if it exists and has not expired. */
  getToken(tokenHash: string): Promise<TokenRecord | null>;
  deleteToken(tokenHash: string): Promise<void>;

  /**
   * Adds a picture, and when `makeActive` also points the user's active picture at it, in one
   * atomic step. Returns false when the user does not exist or is no longer the account `uid`
   * names (deleted concurrently, perhaps registered again under the same name): the uploader's
   * picture must not land in a successor's account. The uid is also what Cassandra can put in
   * the condition of its single conditional write (`IF uid = ?` on a static column).
   */
  insertPicture(picture: PictureRecord, opts: { uid: string; makeActive: boolean }): Promise<boolean>;
  /** Newest first. */
  listPictures(username: string): Promise<PictureRecord[]>;
  getPicture(username: string, id: string): Promise<PictureRecord | null>;
  /** Returns the updated picture, or null when there is no such picture. */
  updateLabel(username: string, id: string, label: string): Promise<PictureRecord | null>;
  /**
   * Deletes the picture and, if it was the active one, clears the active pointer, in one
   * atomic step. Returns the deleted picture, or null when there was none.
   */
  deletePicture(username: string, id: string): Promise<PictureRecord | null>;
  /**
   * Points the active picture at `id` if, at that instant, the picture exists. Returns the
   * picture, or null when there is no such picture (the pointer is then unchanged).
   */
  setActive(username: string, id: string): Promise<PictureRecord | null>;
  /** Clears the active pointer. Returns false when there is no such user. */
  clearActive(username: string): Promise<boolean>;
  /** The read path's one query. */
  getActive(username: string): Promise<ActiveLookup>;
  /** Whether any picture of `username` has the master `hash` (for the blob sweeper). */
  isHashReferenced(username: string, hash: string): Promise<boolean>;

  /** Answers when the store can serve; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
