import type { BlobStore } from '../blobs/port.js';
import type { MetadataStore } from '../metadata/port.js';
import type { KeyedSerial } from './keyed-serial.js';
import { masterOfBlob, masterPrefix, type MasterRef } from './keys.js';
import { collectIfOrphan } from './orphans.js';

/**
 * Collects blobs that no picture names: masters whose upload crashed before its metadata was
 * written, and masters (with their renditions) whose pictures were deleted while the blob was
 * too fresh to remove at once. A master's group of blobs (its renditions too) is considered only
 * when nothing in it was written within the grace period, and removed only as orphans.ts allows.
 */
export interface SweepResult {
  groupsSeen: number;
  groupsRemoved: number;
}

export async function sweepOrphans(
  store: MetadataStore,
  blobs: BlobStore,
  /** locks: the uploads' (Pictures.locks), so that an upload on this node cannot interleave with a removal. */
  options: { graceMs: number; now?: number; onRemoved?: (prefix: string) => void; locks: KeyedSerial },
): Promise<SweepResult> {
  const now = options.now ?? Date.now();
  const groups = new Map<string, { master: MasterRef; newest: number }>();
  for await (const blob of blobs.list('')) {
    const master = masterOfBlob(blob.key);
    if (!master) continue;
    const prefix = masterPrefix(master.username, master.hash);
    const group = groups.get(prefix);
    const modifiedAt = blob.modifiedAt.getTime();
    if (!group) groups.set(prefix, { master, newest: modifiedAt });
    else group.newest = Math.max(group.newest, modifiedAt);
  }
  let groupsRemoved = 0;
  for (const [prefix, { master, newest }] of groups) {
    if (now - newest < options.graceMs) continue;
    if (!(await collectIfOrphan(store, blobs, options.locks, master, { graceMs: options.graceMs, now }))) continue;
    groupsRemoved += 1;
    options.onRemoved?.(prefix);
  }
  return { groupsSeen: groups.size, groupsRemoved };
}

/** Runs the sweep every `intervalMs` (0: never), one run at a time, until stopped. */
export function startSweeper(run: () => Promise<unknown>, intervalMs: number, onError: (err: unknown) => void): () => Promise<void> {
  if (intervalMs <= 0) return async () => undefined;
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = run().catch(onError).finally(() => { running = undefined; });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
