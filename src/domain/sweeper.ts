import type { BlobInfo, BlobStore } from '../blobs/port.js';
import type { MetadataStore } from '../metadata/port.js';
import type { MasterLocks } from './master-locks.js';

/**
 * Collects blobs that no picture names: masters whose upload crashed before its metadata was
 * written, and masters (with their renditions) whose pictures were deleted while the blob was
 * too fresh to remove at once. A group of blobs under `<username>/<hash>/` is removed only when
 * no picture of that user has that hash and nothing in the group was written within the grace
 * period, which must exceed the longest upload (blob put to metadata insert).
 */
export interface SweepResult {
  groupsSeen: number;
  groupsRemoved: number;
}

export async function sweepOrphans(
  store: MetadataStore,
  blobs: BlobStore,
  /** locks: the uploads' (Pictures.locks), so that an upload on this node cannot interleave with a removal. */
  options: { graceMs: number; now?: number; onRemoved?: (prefix: string) => void; locks?: MasterLocks },
): Promise<SweepResult> {
  const now = options.now ?? Date.now();
  const newest = new Map<string, number>();
  for await (const blob of blobs.list('')) {
    const prefix = groupOf(blob);
    if (prefix) newest.set(prefix, Math.max(newest.get(prefix) ?? 0, blob.modifiedAt.getTime()));
  }
  let groupsRemoved = 0;
  for (const [prefix, modifiedAt] of newest) {
    if (now - modifiedAt < options.graceMs) continue;
    const [username, hash] = prefix.split('/') as [string, string];
    const removeIfOrphan = async (): Promise<boolean> => {
      if (await store.isHashReferenced(username, hash)) return false;
      // Look again just before removing: an upload of the same bytes may have touched it meanwhile.
      const master = await blobs.head(`${prefix}master`);
      if (master && now - master.modifiedAt.getTime() < options.graceMs) return false;
      await blobs.deletePrefix(prefix);
      return true;
    };
    if (!(await (options.locks ? options.locks.run(prefix, removeIfOrphan) : removeIfOrphan()))) continue;
    groupsRemoved += 1;
    options.onRemoved?.(prefix);
  }
  return { groupsSeen: newest.size, groupsRemoved };
}

function groupOf(blob: BlobInfo): string | undefined {
  const parts = blob.key.split('/');
  return parts.length === 3 ? `${parts[0]}/${parts[1]}/` : undefined;
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
