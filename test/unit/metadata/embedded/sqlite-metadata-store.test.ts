import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../../../src/domain/errors.js';
import { SqliteMetadataStore } from '../../../../src/metadata/embedded/sqlite-metadata-store.js';
import { SCHEMA_VERSION } from '../../../../src/metadata/embedded/schema.js';
import { newPicture, newToken, newUser } from '../../../contract/metadata-fixtures.js';

describe('SqliteMetadataStore', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onepic-sqlite-'));
    path = join(dir, 'metadata.db');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps users, pictures, tokens and the active pointer across close and reopen', async () => {
    const user = newUser();
    const picture = newPicture(user.username);
    const token = newToken(user);
    const first = new SqliteMetadataStore({ path });
    await first.createUser(user);
    await first.insertPicture(picture, { uid: user.uid, makeActive: true });
    await first.putToken(token);
    await first.close();

    const second = new SqliteMetadataStore({ path });
    expect(await second.getActive(user.username)).toEqual({ kind: 'active', uid: user.uid, picture });
    expect(await second.getToken(token.tokenHash)).toEqual(token);
    await second.close();
  });

  it('opens an up-to-date database without changing it, and with the durable settings', async () => {
    const user = newUser();
    const first = new SqliteMetadataStore({ path });
    await first.createUser(user);
    await first.close();
    // Open twice more: the migration must find nothing to do.
    await new SqliteMetadataStore({ path }).close();
    const store = new SqliteMetadataStore({ path });
    expect(await store.getUser(user.username)).toEqual(user);
    await store.close();

    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('refuses a database written by a newer schema', async () => {
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => new SqliteMetadataStore({ path })).toThrow(/newer than this build/);
  });

  it('removes the tokens of a deleted user', async () => {
    const store = new SqliteMetadataStore({ path });
    const user = newUser();
    const token = newToken(user);
    await store.createUser(user);
    await store.putToken(token);
    await store.deleteUser(user.username);
    expect(await store.getToken(token.tokenHash)).toBeNull();
    await store.close();
  });

  it('reports use after close as StoreUnavailableError', async () => {
    const store = new SqliteMetadataStore({ path });
    await store.close();
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.getUser('arpit')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('reports a file that is not a database as StoreUnavailableError', async () => {
    await writeFile(path, 'this is not a database, just some text long enough to have a header');
    expect(() => new SqliteMetadataStore({ path })).toThrow(StoreUnavailableError);
  });
});
