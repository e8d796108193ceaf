import type { Histogram } from 'prom-client';
import type { Tally, TalliedCounter } from './tallied-counter.js';

/**
 * Per-request HTTP accounting, cheap enough for a cache hit answered in a few microseconds.
 * prom-client hashes the label object of every inc(); here each route, method and status gets a
 * TalliedCounter series the first time it is seen, and a request adds to those plain numbers.
 * The latency histogram is observed at once, with label objects made once per route and method.
 */
export class HttpTally {
  constructor(
    private readonly requests: TalliedCounter<'route' | 'method' | 'status'>,
    private readonly bytes: TalliedCounter<'route'>,
    private readonly duration: Histogram<'route' | 'method'>,
  ) {}

  /** The tally of one route pattern; take it once, when the route is registered. */
  route(pattern: string): RouteTally {
    return new RouteTally(pattern, this.requests, this.bytes, this.duration);
  }
}

interface MethodTally {
  labels: { route: string; method: string };
  byStatus: Map<number, Tally>;
}

export class RouteTally {
  private readonly methods = new Map<string, MethodTally>();
  /** Bound on the first response with a body, so a route that sends none has no series. */
  private bytesSent: Tally | undefined;

  constructor(
    readonly pattern: string,
    private readonly requests: TalliedCounter<'route' | 'method' | 'status'>,
    private readonly bytes: TalliedCounter<'route'>,
    private readonly duration: Histogram<'route' | 'method'>,
  ) {}

  record(method: string, status: number, seconds: number, bytes: number): void {
    let m = this.methods.get(method);
    if (!m) this.methods.set(method, (m = { labels: { route: this.pattern, method }, byStatus: new Map() }));
    let requests = m.byStatus.get(status);
    if (!requests) m.byStatus.set(status, (requests = this.requests.bind({ ...m.labels, status: String(status) })));
    requests.inc();
    this.duration.observe(m.labels, seconds);
    if (bytes > 0) (this.bytesSent ??= this.bytes.bind({ route: this.pattern })).inc(bytes);
  }
}
