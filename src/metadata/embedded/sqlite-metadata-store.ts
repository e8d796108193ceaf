import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreFullError } from '../../domain/errors.js';
import type { ActiveLookup, MetadataStore, PictureRecord, TokenRecord, UserRecord } from '../port.js';
import { DiskReserve } from './disk-reserve.js';
import { migrate } from './schema.js';
import { asStoreError, isVolumeFull } from './store-errors.js';
import {
  PICTURE_COLUMNS, pictureParams, toPicture, toToken, toUser,
  type PictureRow, type TokenRow, type UserRow,
} from './rows.js';

export interface SqliteMetadataStoreOptions {
  /** The database file (parent directories are created), or ':memory:' for tests. */
  path: string;
  /** How long a statement waits for another process's write lock before giving up (503). */
  busyTimeoutMs?: number;
  /**
   * Bytes held back in `<path>.reserve` and released when the volume is full, so that deletes,
   * which free space, still commit. Default 0: no reserve.
   */
  reserveBytes?: number;
}

type ActiveRow = { uid: string } & { [K in keyof PictureRow]: PictureRow[K] | null };

/**
 * The embedded metadata store: one SQLite file, for a single node or a laptop. Every method
 * that changes state is one immediate transaction, which gives each the atomic, conditional
 * meaning the port documents. better-sqlite3 is synchronous; the methods are async only to
 * match the port, so each completes before any other starts within this process.
 */
export class SqliteMetadataStore implements MetadataStore {
  private readonly db: Database.Database;
  private readonly sql: ReturnType<typeof prepareStatements>;
  private readonly reserve: DiskReserve;

  /** Opens (creating if needed) and migrates the database; throws StoreUnavailableError if it cannot. */
  constructor(options: SqliteMetadataStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = openDatabase(options.path, options.busyTimeoutMs ?? 5_000);
    this.sql = prepareStatements(this.db);
    this.reserve = new DiskReserve(`${options.path}.reserve`, options.path === ':memory:' ? 0 : options.reserveBytes ?? 0);
    this.reserve.ensure();
  }

  createUser(user: UserRecord): Promise<boolean> {
    return this.run(() => this.sql.insertUser.run(user.username, user.uid, user.passwordHash, user.createdAt.getTime()).changes === 1);
  }

  getUser(username: string): Promise<UserRecord | null> {
    return this.run(() => {
      const row = this.sql.getUser.get(username) as UserRow | undefined;
      return row ? toUser(row) : null;
    });
  }

  deleteUser(username: string): Promise<PictureRecord[] | null> {
    return this.runFreeing(this.tx(() => {
      const pictures = (this.sql.listPictures.all(username) as PictureRow[]).map(toPicture);
      // Pictures go with the user through ON DELETE CASCADE.
      if (this.sql.deleteUser.run(username).changes === 0) return null;
      this.sql.deleteUserTokens.run(username);
      return pictures;
    }));
  }

  putToken(token: TokenRecord): Promise<void> {
    return this.run(this.tx(() => {
      // Expired tokens are never read again; dropping the user's here bounds the table.
      this.sql.purgeExpiredTokens.run(token.username, Date.now());
      this.sql.putToken.run(token.tokenHash, token.username, token.uid, token.createdAt.getTime(), token.expiresAt.getTime());
    }));
  }

  getToken(tokenHash: string): Promise<TokenRecord | null> {
    return this.run(() => {
      const row = this.sql.getToken.get(tokenHash, Date.now()) as TokenRow | undefined;
      return row ? toToken(row) : null;
    });
  }

  deleteToken(tokenHash: string): Promise<void> {
    return this.runFreeing(() => void this.sql.deleteToken.run(tokenHash));
  }

  insertPicture(picture: PictureRecord, opts: { uid: string; makeActive: boolean }): Promise<boolean> {
    return this.run(this.tx(() => {
      if (this.sql.insertPicture.run({ ...pictureParams(picture), uid: opts.uid }).changes === 0) return false;
      if (opts.makeActive) this.sql.pointActive.run(picture.id, picture.username);
      return true;
    }));
  }

  listPictures(username: string): Promise<PictureRecord[]> {
    return this.run(() => (this.sql.listPictures.all(username) as PictureRow[]).map(toPicture));
  }

  getPicture(username: string, id: string): Promise<PictureRecord | null> {
    return this.run(() => this.picture(username, id));
  }

  updateLabel(username: string, id: string, label: string): Promise<PictureRecord | null> {
    return this.run(() => {
      const row = this.sql.updateLabel.get(label, username, id) as PictureRow | undefined;
      return row ? toPicture(row) : null;
    });
  }

  deletePicture(username: string, id: string): Promise<PictureRecord | null> {
    return this.runFreeing(this.tx(() => {
      const row = this.sql.deletePicture.get(username, id) as PictureRow | undefined;
      if (!row) return null;
      this.sql.clearActiveIf.run(username, id);
      return toPicture(row);
    }));
  }

  setActive(username: string, id: string): Promise<PictureRecord | null> {
    return this.run(this.tx(() => {
      if (this.sql.setActiveIfExists.run(id, username, username, id).changes === 0) return null;
      return this.picture(username, id);
    }));
  }

  clearActive(username: string): Promise<boolean> {
    return this.run(() => this.sql.clearActive.run(username).changes === 1);
  }

  getActive(username: string): Promise<ActiveLookup> {
    return this.run((): ActiveLookup => {
      const row = this.sql.getActive.get(username) as ActiveRow | undefined;
      if (!row) return { kind: 'no_user' };
      if (row.id === null) return { kind: 'no_active', uid: row.uid };
      return { kind: 'active', uid: row.uid, picture: toPicture(row as PictureRow) };
    });
  }

  isHashReferenced(username: string, hash: string): Promise<boolean> {
    return this.run(() => this.sql.hashReferenced.get(username, hash) !== undefined);
  }

  async ping(): Promise<void> {
    await this.run(() => void this.sql.ping.get());
    // Without its reserve the store could not delete on a full volume: there is no room to remake it.
    if (!this.reserve.ensure()) throw new StoreFullError('metadata', new Error('no room for the disk reserve'));
  }

  async close(): Promise<void> {
    this.reserve.stopRetrying();
    this.db.close();
  }

  private picture(username: string, id: string): PictureRecord | null {
    const row = this.sql.getPicture.get(username, id) as PictureRow | undefined;
    return row ? toPicture(row) : null;
  }

  /**
   * An immediate transaction takes the write lock at BEGIN. A deferred one that reads first
   * and writes later can fail with SQLITE_BUSY at the upgrade, which busy_timeout cannot cure.
   */
  private tx<T>(body: () => T): () => T {
    const transaction = this.db.transaction(body);
    return () => transaction.immediate();
  }

  /**
   * For the writes that free space (deletes): on a full volume the reserve is released and the
   * write tried once more. Other writes get no such room, so they cannot spend it.
   */
  private async runFreeing<T>(body: () => T): Promise<T> {
    try {
      return body();
    } catch (err) {
      if (!isVolumeFull(err) || !this.reserve.release()) throw asStoreError(err);
    }
    return this.run(body);
  }

  private async run<T>(body: () => T): Promise<T> {
    try {
      return body();
    } catch (err) {
      throw asStoreError(err);
    }
  }
}

function openDatabase(path: string, busyTimeoutMs: number): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL syncs only at checkpoints, so a power cut can roll back commits that
    // were already acknowledged: a 201 for an upload whose row then vanishes. FULL syncs the
    // WAL at every commit, which costs little at this write rate.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    throw asStoreError(err, 'opening');
  }
}

function prepareStatements(db: Database.Database) {
  const p = (source: string) => db.prepare(source);
  return {
    // A new account has no pictures, so it starts with no active one whatever the record says.
    insertUser: p(`INSERT INTO users (username, uid, password_hash, created_at, active_picture_id)
                   VALUES (?, ?, ?, ?, NULL) ON CONFLICT (username) DO NOTHING`),
    getUser: p('SELECT * FROM users WHERE username = ?'),
    deleteUser: p('DELETE FROM users WHERE username = ?'),
    deleteUserTokens: p('DELETE FROM tokens WHERE username = ?'),
    putToken: p('INSERT OR REPLACE INTO tokens (token_hash, username, uid, created_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
    getToken: p('SELECT * FROM tokens WHERE token_hash = ? AND expires_at > ?'),
    deleteToken: p('DELETE FROM tokens WHERE token_hash = ?'),
    purgeExpiredTokens: p('DELETE FROM tokens WHERE username = ? AND expires_at <= ?'),
    // Selecting from users makes "this very account exists" part of the insert itself.
    insertPicture: p(`INSERT INTO pictures (${PICTURE_COLUMNS})
                      SELECT @username, @id, @label, @hash, @format, @has_alpha, @width, @height, @bytes, @created_at
                      FROM users WHERE username = @username AND uid = @uid`),
    listPictures: p(`SELECT ${PICTURE_COLUMNS} FROM pictures WHERE username = ? ORDER BY id DESC`),
    getPicture: p(`SELECT ${PICTURE_COLUMNS} FROM pictures WHERE username = ? AND id = ?`),
    updateLabel: p(`UPDATE pictures SET label = ? WHERE username = ? AND id = ? RETURNING ${PICTURE_COLUMNS}`),
    deletePicture: p(`DELETE FROM pictures WHERE username = ? AND id = ? RETURNING ${PICTURE_COLUMNS}`),
    pointActive: p('UPDATE users SET active_picture_id = ? WHERE username = ?'),
    setActiveIfExists: p(`UPDATE users SET active_picture_id = ? WHERE username = ?
                          AND EXISTS (SELECT 1 FROM pictures WHERE username = ? AND id = ?)`),
    clearActive: p('UPDATE users SET active_picture_id = NULL WHERE username = ?'),
    clearActiveIf: p('UPDATE users SET active_picture_id = NULL WHERE username = ? AND active_picture_id = ?'),
    getActive: p(`SELECT u.uid AS uid, ${PICTURE_COLUMNS.split(', ').map((c) => `p.${c} AS ${c}`).join(', ')}
                  FROM users u LEFT JOIN pictures p ON p.username = u.username AND p.id = u.active_picture_id
                  WHERE u.username = ?`),
    hashReferenced: p('SELECT 1 FROM pictures WHERE username = ? AND hash = ? LIMIT 1'),
    ping: p('SELECT 1'),
  };
}
