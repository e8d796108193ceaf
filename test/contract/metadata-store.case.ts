import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetadataStore, PictureRecord } from '../../src/metadata/port.js';
import { newPicture, newToken, newUser, randomHex, sortById } from './metadata-fixtures.js';
import { describePictureCases } from './metadata-store-pictures.case.js';

export type MetadataStoreFactory = () => Promise<{ store: MetadataStore; cleanup: () => Promise<void> }>;

/**
 * The behaviour every MetadataStore backend must have (embedded SQLite, Cassandra). The
 * factory runs before each case; every case uses fresh random usernames, so a factory may hand
 * out stores that share one database or keyspace.
 */
export function describeMetadataStoreContract(name: string, factory: MetadataStoreFactory): void {
  describe(`MetadataStore contract: ${name}`, () => {
    let store: MetadataStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    /** A user that exists in the store, with `count` pictures (oldest first). */
    async function userWithPictures(count: number, activeIndex?: number) {
      const user = newUser();
      expect(await store.createUser(user)).toBe(true);
      const pictures: PictureRecord[] = [];
      for (let i = 0; i < count; i++) {
        const picture = newPicture(user.username, { label: `picture ${i}` });
        expect(await store.insertPicture(picture, { uid: user.uid, makeActive: i === activeIndex })).toBe(true);
        pictures.push(picture);
      }
      return { user, pictures };
    }

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('users', () => {
      it('creates a user and reads it back, with no active picture', async () => {
        const user = newUser();
        expect(await store.createUser(user)).toBe(true);
        expect(await store.getUser(user.username)).toEqual(user);
      });

      it('refuses a second user of the same name and keeps the first', async () => {
        const user = newUser();
        await store.createUser(user);
        expect(await store.createUser({ ...newUser(), username: user.username })).toBe(false);
        expect((await store.getUser(user.username))?.uid).toBe(user.uid);
      });

      it('returns null for an unknown user', async () => {
        expect(await store.getUser(newUser().username)).toBeNull();
      });

      it('deletes a user with its pictures and returns them', async () => {
        const { user, pictures } = await userWithPictures(3, 1);
        const deleted = await store.deleteUser(user.username);
        expect(sortById(deleted ?? [])).toEqual(sortById(pictures));
        expect(await store.getUser(user.username)).toBeNull();
        expect(await store.listPictures(user.username)).toEqual([]);
        expect(await store.getPicture(user.username, pictures[0]!.id)).toBeNull();
        expect(await store.getActive(user.username)).toEqual({ kind: 'no_user' });
        expect(await store.isHashReferenced(user.username, pictures[0]!.hash)).toBe(false);
      });

      it('returns null when deleting an unknown user', async () => {
        expect(await store.deleteUser(newUser().username)).toBeNull();
      });

      it('lets a deleted name be registered again, starting empty', async () => {
        const { user } = await userWithPictures(2, 0);
        await store.deleteUser(user.username);
        const again = { ...newUser(), username: user.username };
        expect(await store.createUser(again)).toBe(true);
        expect(await store.getUser(user.username)).toEqual(again);
        expect(await store.listPictures(user.username)).toEqual([]);
        expect(await store.getActive(user.username)).toEqual({ kind: 'no_active', uid: again.uid });
      });
    });

    describe('tokens', () => {
      it('stores a token and reads it back', async () => {
        const token = newToken(newUser());
        await store.putToken(token);
        expect(await store.getToken(token.tokenHash)).toEqual(token);
      });

      it('does not return an expired token', async () => {
        const token = { ...newToken(newUser()), expiresAt: new Date(Date.now() - 1_000) };
        await store.putToken(token);
        expect(await store.getToken(token.tokenHash)).toBeNull();
      });

      it('deletes a token, and deleting an unknown one succeeds', async () => {
        const token = newToken(newUser());
        await store.putToken(token);
        await store.deleteToken(token.tokenHash);
        expect(await store.getToken(token.tokenHash)).toBeNull();
        await expect(store.deleteToken(token.tokenHash)).resolves.toBeUndefined();
      });

      it('returns null for an unknown token', async () => {
        expect(await store.getToken(randomHex(64))).toBeNull();
      });
    });

    // Pictures and the active pointer live in their own file to keep each one readable.
    describePictureCases(() => store, userWithPictures);
  });
}
