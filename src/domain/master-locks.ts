/**
 * Serialises, within one process, the steps that must not interleave for one master
 * (`<username>/<hash>`): an upload's put, insert and check, and a collector's reference check
 * and removal. Without it, a collector that found no reference and a master older than the
 * grace could remove the master just after an upload of the same bytes touched it, named it in
 * the metadata and checked that it was there: a picture naming a missing blob. Between
 * processes sharing one blob store the sweeper's grace is what protects uploads in flight.
 */
export class MasterLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, body: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const tail = previous.then(() => held);
    this.tails.set(key, tail);
    await previous;
    try {
      return await body();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
