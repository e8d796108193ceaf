/**
 * Counts requests in flight so a graceful shutdown can wait for them, and so the in-flight gauge
 * can be read at scrape time without requests paying for it.
 */
export class InFlight {
  count = 0;
  private waiters: Array<() => void> = [];
  enter(): void { this.count += 1; }
  leave(): void {
    this.count -= 1;
    if (this.count === 0) for (const w of this.waiters.splice(0)) w();
  }
  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}
