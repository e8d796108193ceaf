import type { BlobStore } from '../blobs/port.js';
import type { MetadataStore } from '../metadata/port.js';
import type { KeyedSerial } from './keyed-serial.js';
import { masterKey, masterPrefix, type MasterRef } from './keys.js';

/**
 * The one rule for removing a master with its renditions, shared by a picture delete and the
 * sweeper: remove it only when no picture of its user names its hash, and its master was not
 * written within `graceMs` (the same bytes may be uploading right now: the upload puts the
 * master before it inserts the picture). A master already gone counts as old.
 *
 * Within one process the check and the removal hold the master's key in `locks` (the uploads'
 * KeyedSerial, keyed by masterPrefix), so an upload of the same bytes cannot put, name and
 * check its master between them; the age check alone could not, as it may run first. Between
 * processes sharing one blob store the grace is what protects an upload in flight, which is
 * why it must exceed the longest upload (blob put to metadata insert).
 */
interface OrphanRule {
  graceMs: number;
  /** The time ages are measured from; the moment of the check if not given. */
  now?: number;
  /** The account is deleted: no upload can name these blobs again (hashes include its uid), so remove unchecked. */
  accountGone?: boolean;
}

/** Removes the master group if the rule allows it; true if it did. */
export async function collectIfOrphan(
  store: MetadataStore,
  blobs: BlobStore,
  locks: KeyedSerial,
  master: MasterRef,
  rule: OrphanRule,
): Promise<boolean> {
  return locks.run(masterPrefix(master.username, master.hash), async () => {
    if (!rule.accountGone) {
      if (await store.isHashReferenced(master.username, master.hash)) return false;
      // Look just before removing: an upload of the same bytes may have touched it meanwhile.
      const info = await blobs.head(masterKey(master.username, master.hash));
      if (info && (rule.now ?? Date.now()) - info.modifiedAt.getTime() < rule.graceMs) return false;
    }
    await blobs.deletePrefix(masterPrefix(master.username, master.hash));
    return true;
  });
}
