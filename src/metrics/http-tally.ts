import type { Counter, Histogram } from 'prom-client';

/**
 * Per-request HTTP accounting, cheap enough for a cache hit answered in a few microseconds.
 * prom-client hashes the label object of every inc(); here a request adds to plain numbers kept
 * per route, method and status, and the sums move into the prom-client counters when they are
 * collected (at every scrape, through their collect hooks). The latency histogram is observed
 * at once, with label objects made once per route and method.
 */
export class HttpTally {
  private readonly routes: RouteTally[] = [];

  constructor(
    private readonly requests: Counter<'route' | 'method' | 'status'>,
    private readonly bytes: Counter<'route'>,
    private readonly duration: Histogram<'route' | 'method'>,
  ) {}

  /** The tally of one route pattern; take it once, when the route is registered. */
  route(pattern: string): RouteTally {
    const tally = new RouteTally(pattern, this.duration);
    this.routes.push(tally);
    return tally;
  }

  /** Moves the request counts into the counter. Called by the counter's collect hook. */
  flushRequests(): void {
    for (const tally of this.routes) {
      for (const m of tally.methods.values()) {
        for (const [status, n] of m.byStatus) {
          if (n === 0) continue;
          this.requests.inc({ route: tally.pattern, method: m.labels.method, status: String(status) }, n);
          m.byStatus.set(status, 0);
        }
      }
    }
  }

  /** Moves the body bytes into the counter. Called by the counter's collect hook. */
  flushBytes(): void {
    for (const tally of this.routes) {
      if (tally.bytes === 0) continue;
      this.bytes.inc({ route: tally.pattern }, tally.bytes);
      tally.bytes = 0;
    }
  }
}

interface MethodTally {
  labels: { route: string; method: string };
  byStatus: Map<number, number>;
}

export class RouteTally {
  readonly methods = new Map<string, MethodTally>();
  bytes = 0;

  constructor(readonly pattern: string, private readonly duration: Histogram<'route' | 'method'>) {}

  record(method: string, status: number, seconds: number, bytes: number): void {
    let m = this.methods.get(method);
    if (!m) this.methods.set(method, (m = { labels: { route: this.pattern, method }, byStatus: new Map() }));
    m.byStatus.set(status, (m.byStatus.get(status) ?? 0) + 1);
    this.duration.observe(m.labels, seconds);
    this.bytes += bytes;
  }
}
