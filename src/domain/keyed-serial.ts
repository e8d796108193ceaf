/**
 * Runs the tasks given for one key one at a time, in the order given; tasks for other keys run
 * alongside. Within one process only: it orders this process's own steps and nothing else.
 *
 * Two users rely on it:
 * - Pictures and the sweeper, per master (`<username>/<hash>/`): an upload's put, insert and
 *   check must not interleave with a collector's reference check and removal, or a collector
 *   could remove a master just after an upload named it (see orphans.ts).
 * - The Cassandra store, per partition: its conditional writes reach Paxos one after another
 *   instead of contending (see metadata/cassandra/cassandra-metadata-store.ts).
 *
 * A failed task does not fail the ones queued behind it, and a key's entry is dropped when its
 * last task settles, so keys seen once do not accumulate.
 */
export class KeyedSerial {
  /** The tail of each key's queue: settles (never rejects) when the key's last task has. */
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(settled, settled);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task queued or running (for tests and diagnostics). */
  get busyKeys(): number {
    return this.tails.size;
  }
}

function settled(): void {}
