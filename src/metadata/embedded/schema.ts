import type Database from 'better-sqlite3';

/**
 * The embedded store's schema, as an ordered list of migrations. `PRAGMA user_version` records
 * how many have run, so opening a database applies only the missing ones and opening an
 * up-to-date one changes nothing. Append new migrations; never edit one that has shipped.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    username          TEXT    NOT NULL PRIMARY KEY,
    uid               TEXT    NOT NULL,
    password_hash     TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    -- No foreign key: SQLite's ON DELETE SET NULL would also null the username column of a
    -- composite key, so the store clears the pointer itself in the transaction that deletes.
    active_picture_id TEXT    NULL
  );

  -- WITHOUT ROWID keeps each user's pictures clustered by (username, id): a list is one
  -- range scan of the primary key, already in id (= time) order.
  CREATE TABLE pictures (
    username   TEXT    NOT NULL REFERENCES users(username) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    format     TEXT    NOT NULL CHECK (format IN ('jpeg', 'png')),
    has_alpha  INTEGER NOT NULL CHECK (has_alpha IN (0, 1)),
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (username, id)
  ) WITHOUT ROWID;

  CREATE TABLE tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    username   TEXT    NOT NULL,
    uid        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  -- deleteUser and the expired-token purge find a user's tokens by name.
  CREATE INDEX tokens_by_username ON tokens (username, expires_at);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database up to SCHEMA_VERSION in one immediate transaction, so two processes
 * opening a fresh file at once cannot both run the same migration.
 */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `The metadata database has schema version ${current}, newer than this build's ${SCHEMA_VERSION}; ` +
          'run a newer OnePic or restore a matching backup.',
      );
    }
    for (let version = current; version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]!);
    }
    // PRAGMA takes no bound parameters; the value is our own integer.
    if (current !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
