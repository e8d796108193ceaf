import { v7 as uuidv7 } from 'uuid';
import type { BlobStore } from '../blobs/port.js';
import type { MetadataStore, PictureRecord } from '../metadata/port.js';
import type { Principal } from './accounts.js';
import { fail } from './errors.js';
import type { Imaging } from './imaging.js';
import { KeyedSerial } from './keyed-serial.js';
import { toView, type PictureView } from './picture-view.js';
import { FORMAT_CONTENT_TYPE, masterHash, masterKey, masterPrefix, publicKeyPrefix } from './keys.js';
import { collectIfOrphan } from './orphans.js';
import type { ActiveLookups, RenditionLookups } from './read-caches.js';

const MAX_LABEL_LENGTH = 200;

export function checkLabel(label: unknown): string {
  if (typeof label !== 'string' || label.length > MAX_LABEL_LENGTH || /[\u0000-\u001f\u007f]/.test(label)) {
    throw fail('invalid_label', MAX_LABEL_LENGTH);
  }
  return label;
}


const pictureNotFound = () => fail('picture_not_found');
const userNotFound = () => fail('user_not_found');

/**
 * Upload, list, label, delete and activate pictures. Every change is one atomic step in the
 * metadata store; blobs are written before the metadata that names them and removed after it
 * stops naming them, so a crash between two steps leaves at worst an orphan blob, which the
 * sweeper collects, and never metadata that names a missing blob.
 *
 * After a change, the user's entry in the active cache is dropped, never overwritten with the
 * state this request computed: two concurrent changes can commit in one order and reach their
 * cache write in the other (an `?active=true` upload still checking its blob while a later PUT
 * active finishes), which would leave this node serving the older one. Dropping it makes the
 * next read here load the committed state, and cancels a load in flight.
 */
export class Pictures {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly imaging: Imaging,
    private readonly active: ActiveLookups,
    private readonly renditions: RenditionLookups,
    /**
     * recentWriteMs: a master written this recently may belong to an upload of the same bytes
     * in flight, so a picture delete leaves it to the sweeper (see collectIfUnreferenced).
     */
    private readonly options: { recentWriteMs: number },
    /**
     * Per master (masterPrefix): an upload's steps and a collector's (orphans.ts) never interleave.
     * Pass the same instance to sweepOrphans so that sweeps cannot interleave with uploads either.
     */
    readonly locks: KeyedSerial = new KeyedSerial(),
  ) {}

  async upload(principal: Principal, body: Uint8Array, opts: { makeActive: boolean; label: string }): Promise<PictureView> {
    const processed = await this.imaging.processUpload(body);
    const hash = masterHash(principal.uid, processed.master);
    const key = masterKey(principal.username, hash);
    const picture: PictureRecord = {
      username: principal.username, id: uuidv7(), label: opts.label, hash, format: processed.format,
      hasAlpha: processed.hasAlpha, width: processed.side, height: processed.side, bytes: processed.master.length,
      createdAt: new Date(),
    };
    // Under the master's lock, no delete or sweep on this node can remove it between these steps.
    await this.locks.run(masterPrefix(principal.username, hash), async () => {
      await this.blobs.put(key, processed.master, FORMAT_CONTENT_TYPE[processed.format]);
      if (!(await this.store.insertPicture(picture, { uid: principal.uid, makeActive: opts.makeActive }))) throw userNotFound();
      // A cleanup on another node sharing the blob store may have removed the blob between our put
      // and our insert; now that the insert makes it referenced, put it back if it is gone.
      if (!(await this.blobs.head(key))) await this.blobs.put(key, processed.master, FORMAT_CONTENT_TYPE[processed.format]);
    });
    if (opts.makeActive) this.active.forget(principal.username);
    return toView(picture, opts.makeActive);
  }

  async list(username: string): Promise<PictureView[]> {
    const [user, pictures] = await Promise.all([this.store.getUser(username), this.store.listPictures(username)]);
    if (!user) throw userNotFound();
    return pictures.map((p) => toView(p, p.id === user.activePictureId));
  }

  async get(username: string, id: string): Promise<PictureView> {
    const [user, picture] = await Promise.all([this.store.getUser(username), this.store.getPicture(username, id)]);
    if (!user || !picture) throw pictureNotFound();
    return toView(picture, picture.id === user.activePictureId);
  }

  async relabel(username: string, id: string, label: string): Promise<PictureView> {
    const picture = await this.store.updateLabel(username, id, checkLabel(label));
    if (!picture) throw pictureNotFound();
    const user = await this.store.getUser(username);
    const active = user?.activePictureId === id;
    if (active) this.active.forget(username);
    return toView(picture, active);
  }

  async remove(principal: Principal, id: string): Promise<void> {
    const picture = await this.store.deletePicture(principal.username, id);
    if (!picture) throw pictureNotFound();
    this.active.forget(principal.username);
    await this.collectIfUnreferenced(picture);
  }

  async setActive(principal: Principal, id: string): Promise<PictureView> {
    const picture = await this.store.setActive(principal.username, id);
    if (!picture) throw pictureNotFound();
    this.active.forget(principal.username);
    return toView(picture, true);
  }

  async clearActive(principal: Principal): Promise<void> {
    if (!(await this.store.clearActive(principal.username))) throw userNotFound();
    this.active.forget(principal.username);
  }

  async removeAccount(principal: Principal): Promise<void> {
    const pictures = await this.store.deleteUser(principal.username);
    if (!pictures) throw userNotFound();
    this.active.forget(principal.username);
    const distinct = new Map(pictures.map((p) => [p.hash, p]));
    // No upload can name these blobs again: their hashes include the deleted account's uid.
    for (const picture of distinct.values()) await this.collectIfUnreferenced(picture, { accountGone: true });
  }

  /**
   * Removes a master and its renditions once no picture names it (orphans.ts). While the account
   * lives, the same bytes may be uploaded again at this moment: a master written within
   * recentWriteMs is left to the sweeper, and an upload re-puts its master if it vanished before
   * its insert.
   */
  private async collectIfUnreferenced(picture: PictureRecord, opts: { accountGone?: boolean } = {}): Promise<void> {
    this.renditions.forgetPrefix(publicKeyPrefix(picture));
    try {
      await collectIfOrphan(this.store, this.blobs, this.locks, picture, { graceMs: this.options.recentWriteMs, accountGone: opts.accountGone });
    } catch {
      // The metadata change is done; an uncollected blob is the sweeper's job, not the client's error.
    }
  }
}
