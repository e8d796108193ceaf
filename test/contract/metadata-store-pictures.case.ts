import { describe, expect, it } from 'vitest';
import type { MetadataStore } from '../../src/metadata/port.js';
import { newPicture, newUser, type UserWithPictures } from './metadata-fixtures.js';

/** Pictures and the active pointer: part of describeMetadataStoreContract. */
export function describePictureCases(getStore: () => MetadataStore, userWithPictures: UserWithPictures): void {
  const store = () => getStore();

  describe('pictures', () => {
    it('inserts a picture and reads every field back', async () => {
      const { user } = await userWithPictures(0);
      const picture = newPicture(user.username, { label: 'beach', format: 'png', hasAlpha: true, width: 64, height: 64, bytes: 999 });
      expect(await store().insertPicture(picture, { uid: user.uid, makeActive: false })).toBe(true);
      expect(await store().getPicture(user.username, picture.id)).toEqual(picture);
      expect((await store().getUser(user.username))?.activePictureId).toBeNull();
    });

    it('inserts a picture and makes it active in one step', async () => {
      const { user, pictures } = await userWithPictures(1, 0);
      expect((await store().getUser(user.username))?.activePictureId).toBe(pictures[0]!.id);
    });

    it('refuses a picture for a user that does not exist', async () => {
      const user = newUser();
      const picture = newPicture(user.username);
      expect(await store().insertPicture(picture, { uid: user.uid, makeActive: true })).toBe(false);
      expect(await store().getPicture(user.username, picture.id)).toBeNull();
      expect(await store().listPictures(user.username)).toEqual([]);
      expect(await store().getUser(user.username)).toBeNull();
    });

    it('refuses a picture for a deleted account whose name was registered again', async () => {
      const { user } = await userWithPictures(0);
      await store().deleteUser(user.username);
      const again = { ...newUser(), username: user.username };
      await store().createUser(again);
      const picture = newPicture(user.username);
      expect(await store().insertPicture(picture, { uid: user.uid, makeActive: true })).toBe(false);
      expect(await store().listPictures(user.username)).toEqual([]);
      expect(await store().getActive(user.username)).toEqual({ kind: 'no_active', uid: again.uid });
    });

    it('lists newest first, and only the given user', async () => {
      const { user, pictures } = await userWithPictures(5);
      await userWithPictures(2);
      expect(await store().listPictures(user.username)).toEqual([...pictures].reverse());
    });

    it('returns null for an unknown picture, or a picture of another user', async () => {
      const { user } = await userWithPictures(1);
      const other = await userWithPictures(1);
      expect(await store().getPicture(user.username, newPicture(user.username).id)).toBeNull();
      expect(await store().getPicture(user.username, other.pictures[0]!.id)).toBeNull();
    });

    it('updates a label and returns the updated picture', async () => {
      const { user, pictures } = await userWithPictures(1);
      const updated = await store().updateLabel(user.username, pictures[0]!.id, 'new label');
      expect(updated).toEqual({ ...pictures[0], label: 'new label' });
      expect(await store().getPicture(user.username, pictures[0]!.id)).toEqual(updated);
    });

    it('returns null when updating the label of an unknown picture, and creates nothing', async () => {
      const { user } = await userWithPictures(0);
      const id = newPicture(user.username).id;
      expect(await store().updateLabel(user.username, id, 'x')).toBeNull();
      expect(await store().getPicture(user.username, id)).toBeNull();
      expect(await store().updateLabel(newUser().username, id, 'x')).toBeNull();
    });

    it('deletes the active picture and clears the pointer', async () => {
      const { user, pictures } = await userWithPictures(2, 1);
      expect(await store().deletePicture(user.username, pictures[1]!.id)).toEqual(pictures[1]);
      expect(await store().getPicture(user.username, pictures[1]!.id)).toBeNull();
      expect((await store().getUser(user.username))?.activePictureId).toBeNull();
      expect(await store().listPictures(user.username)).toEqual([pictures[0]]);
    });

    it('deletes a picture that is not active and keeps the pointer', async () => {
      const { user, pictures } = await userWithPictures(2, 1);
      expect(await store().deletePicture(user.username, pictures[0]!.id)).toEqual(pictures[0]);
      expect((await store().getUser(user.username))?.activePictureId).toBe(pictures[1]!.id);
    });

    it('returns null when deleting an unknown picture', async () => {
      const { user } = await userWithPictures(1, 0);
      expect(await store().deletePicture(user.username, newPicture(user.username).id)).toBeNull();
    });

    it('knows whether a hash is referenced by one of the user\'s pictures', async () => {
      const { user, pictures } = await userWithPictures(2);
      const other = await userWithPictures(1);
      expect(await store().isHashReferenced(user.username, pictures[0]!.hash)).toBe(true);
      expect(await store().isHashReferenced(user.username, other.pictures[0]!.hash)).toBe(false);
      await store().deletePicture(user.username, pictures[0]!.id);
      expect(await store().isHashReferenced(user.username, pictures[0]!.hash)).toBe(false);
    });
  });

  describe('active picture', () => {
    it('sets the active picture and returns it', async () => {
      const { user, pictures } = await userWithPictures(2, 0);
      expect(await store().setActive(user.username, pictures[1]!.id)).toEqual(pictures[1]);
      expect((await store().getUser(user.username))?.activePictureId).toBe(pictures[1]!.id);
    });

    it('returns null for an unknown or foreign picture and leaves the pointer', async () => {
      const { user, pictures } = await userWithPictures(1, 0);
      const other = await userWithPictures(1);
      expect(await store().setActive(user.username, newPicture(user.username).id)).toBeNull();
      expect(await store().setActive(user.username, other.pictures[0]!.id)).toBeNull();
      expect((await store().getUser(user.username))?.activePictureId).toBe(pictures[0]!.id);
    });

    it('returns null for a user that does not exist, and creates nothing', async () => {
      const username = newUser().username;
      expect(await store().setActive(username, newPicture(username).id)).toBeNull();
      expect(await store().getUser(username)).toBeNull();
    });

    it('clears the pointer; false for an unknown user', async () => {
      const { user } = await userWithPictures(1, 0);
      expect(await store().clearActive(user.username)).toBe(true);
      expect((await store().getUser(user.username))?.activePictureId).toBeNull();
      expect(await store().clearActive(user.username)).toBe(true);
      expect(await store().clearActive(newUser().username)).toBe(false);
    });

    it('looks up the read path: no user, no active picture, active picture', async () => {
      expect(await store().getActive(newUser().username)).toEqual({ kind: 'no_user' });
      const { user, pictures } = await userWithPictures(2);
      expect(await store().getActive(user.username)).toEqual({ kind: 'no_active', uid: user.uid });
      await store().setActive(user.username, pictures[0]!.id);
      expect(await store().getActive(user.username)).toEqual({ kind: 'active', uid: user.uid, picture: pictures[0] });
    });

    it('keeps the pointer valid under concurrent inserts, deletes and switches', async () => {
      const { user, pictures } = await userWithPictures(6, 0);
      const ids = pictures.map((p) => p.id);
      const operations: Promise<unknown>[] = [];
      for (let round = 0; round < 10; round++) {
        const fresh = newPicture(user.username);
        ids.push(fresh.id);
        operations.push(
          store().insertPicture(fresh, { uid: user.uid, makeActive: round % 2 === 0 }),
          store().setActive(user.username, ids[(round * 5) % ids.length]!),
          store().deletePicture(user.username, ids[(round * 3 + 1) % ids.length]!),
          store().setActive(user.username, fresh.id),
          store().deletePicture(user.username, fresh.id),
        );
      }
      await Promise.all(operations);

      const active = (await store().getUser(user.username))?.activePictureId ?? null;
      const remaining = (await store().listPictures(user.username)).map((p) => p.id);
      if (active !== null) expect(remaining).toContain(active);
      const lookup = await store().getActive(user.username);
      expect(lookup.kind === 'active' ? lookup.picture.id : null).toBe(active);
    });
  });
}
