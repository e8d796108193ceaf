import { Counter, type LabelValues, type Registry } from 'prom-client';

/** One series of a TalliedCounter, counted as a plain number until the next scrape. */
export interface Tally {
  inc(by?: number): void;
}

/**
 * A counter for events on the hot path (a cache hit per request). prom-client hashes the label
 * object on every inc(); a series bound once here is a plain number, added to the prom-client
 * counter when it is collected (every scrape), so Prometheus sees the same totals.
 */
export class TalliedCounter<L extends string> {
  readonly counter: Counter<L>;
  readonly #series: Array<{ labels: LabelValues<L>; pending: number }> = [];

  constructor(registry: Registry, config: { name: string; help: string; labelNames: readonly L[] }) {
    const series = this.#series;
    this.counter = new Counter<L>({
      ...config, registers: [registry],
      collect() {
        for (const s of series) {
          if (s.pending === 0) continue;
          this.inc(s.labels, s.pending);
          s.pending = 0;
        }
      },
    });
  }

  /** A series, created at zero so that rate() sees its first event; keep the handle. */
  bind(labels: LabelValues<L>): Tally {
    const entry = { labels, pending: 0 };
    this.#series.push(entry);
    this.counter.inc(labels, 0);
    return { inc: (by = 1) => { entry.pending += by; } };
  }
}
