/**
 * Runs the conditional writes this process sends to one partition one at a time.
 *
 * Correctness never depends on it: Paxos orders writes from every node. It is there because
 * Paxos handles contention badly. Concurrent proposals on one partition make each other start
 * over, and past cas_contention_timeout (1 s by default) the coordinator gives up with a CAS
 * write timeout, which the store must then resolve by a SERIAL read and often retry. A burst
 * of requests for one user on one node (a client retrying, a page firing several calls) would
 * turn into such a storm; queued here, they reach Cassandra as an orderly sequence and only
 * writes from other nodes can still collide. Reads are never queued.
 */
export class PartitionQueue {
  /** The tail of each partition's queue; an entry is removed when its last task settles. */
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    // A failed task must not fail the ones queued behind it.
    const result = previous.catch(() => undefined).then(task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
