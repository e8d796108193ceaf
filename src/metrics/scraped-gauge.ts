import { Gauge, type Registry } from 'prom-client';

/**
 * A gauge whose value is read at scrape time from whoever reports through it: a cache's size,
 * the imaging queue. The metric is created once (prom-client refuses a name registered twice),
 * and any number of parts add a reader, e.g. two caches each setting their own `cache` label.
 */
export class ScrapedGauge<L extends string = never> {
  readonly gauge: Gauge<L>;
  readonly #readers = new Set<(gauge: Gauge<L>) => void>();

  constructor(registry: Registry, config: { name: string; help: string; labelNames?: readonly L[] }) {
    const readers = this.#readers;
    this.gauge = new Gauge<L>({
      name: config.name, help: config.help, labelNames: config.labelNames ?? [], registers: [registry],
      collect() {
        for (const read of readers) read(this);
      },
    });
  }

  /** Adds a reader called on every scrape; returns a function that removes it. */
  report(read: (gauge: Gauge<L>) => void): () => void {
    this.#readers.add(read);
    return () => { this.#readers.delete(read); };
  }
}
