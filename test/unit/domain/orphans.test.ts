import { describe, expect, it, vi } from 'vitest';
import type { BlobStore } from '../../../src/blobs/port.js';
import { KeyedSerial } from '../../../src/domain/keyed-serial.js';
import { masterKey, masterPrefix } from '../../../src/domain/keys.js';
import { collectIfOrphan } from '../../../src/domain/orphans.js';
import type { MetadataStore } from '../../../src/metadata/port.js';

// The one orphan rule, as the picture delete and the sweeper both apply it.

const master = { username: 'ada', hash: '0123456789abcdef0123456789abcdef' };
const NOW = 1_000_000;

function setup(opts: { referenced: boolean; masterWrittenAt: number | null }) {
  const store = { isHashReferenced: vi.fn(async () => opts.referenced) } as unknown as MetadataStore;
  const deletePrefix = vi.fn(async () => undefined);
  const head = vi.fn(async (key: string) =>
    opts.masterWrittenAt === null ? null : { key, size: 1, modifiedAt: new Date(opts.masterWrittenAt) });
  const blobs = { head, deletePrefix } as unknown as BlobStore;
  return { store, blobs, head, deletePrefix, locks: new KeyedSerial() };
}

describe('collectIfOrphan', () => {
  it('removes the master group when no picture names it and its master is older than the grace', async () => {
    const s = setup({ referenced: false, masterWrittenAt: NOW - 5000 });
    expect(await collectIfOrphan(s.store, s.blobs, s.locks, master, { graceMs: 1000, now: NOW })).toBe(true);
    expect(s.head).toHaveBeenCalledWith(masterKey(master.username, master.hash));
    expect(s.deletePrefix).toHaveBeenCalledWith(masterPrefix(master.username, master.hash));
  });

  it('removes a group whose master is already gone (renditions left behind)', async () => {
    const s = setup({ referenced: false, masterWrittenAt: null });
    expect(await collectIfOrphan(s.store, s.blobs, s.locks, master, { graceMs: 1000, now: NOW })).toBe(true);
    expect(s.deletePrefix).toHaveBeenCalledOnce();
  });

  it('keeps it while a picture names its hash', async () => {
    const s = setup({ referenced: true, masterWrittenAt: NOW - 5000 });
    expect(await collectIfOrphan(s.store, s.blobs, s.locks, master, { graceMs: 1000, now: NOW })).toBe(false);
    expect(s.deletePrefix).not.toHaveBeenCalled();
  });

  it('keeps a master written within the grace: an upload of the same bytes may be about to name it', async () => {
    const s = setup({ referenced: false, masterWrittenAt: NOW - 999 });
    expect(await collectIfOrphan(s.store, s.blobs, s.locks, master, { graceMs: 1000, now: NOW })).toBe(false);
    expect(s.deletePrefix).not.toHaveBeenCalled();
  });

  it('removes unchecked once the account is gone', async () => {
    const s = setup({ referenced: true, masterWrittenAt: NOW });
    expect(await collectIfOrphan(s.store, s.blobs, s.locks, master, { graceMs: 1000, now: NOW, accountGone: true })).toBe(true);
    expect(s.store.isHashReferenced).not.toHaveBeenCalled();
    expect(s.deletePrefix).toHaveBeenCalledOnce();
  });

  it('holds the master\'s key while it checks and removes, so an upload of it waits', async () => {
    const s = setup({ referenced: false, masterWrittenAt: NOW - 5000 });
    const order: string[] = [];
    s.deletePrefix.mockImplementation(async () => { await new Promise((r) => setTimeout(r, 5)); order.push('removed'); });
    const collecting = collectIfOrphan(s.store, s.blobs, s.locks, master, { graceMs: 1000, now: NOW });
    const uploading = s.locks.run(masterPrefix(master.username, master.hash), async () => { order.push('upload'); });
    await Promise.all([collecting, uploading]);
    expect(order).toEqual(['removed', 'upload']);
  });
});
