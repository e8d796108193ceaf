import type { Metrics } from '../../src/metrics/metrics.js';

/**
 * Reading metrics in tests, one way for all of them: the Prometheus text exposition parsed
 * strictly (a line that is not a comment, blank or a sample fails the test), whether it comes
 * from a running server's /metrics or from a registry in the same process.
 */

export interface Sample { name: string; labels: Record<string, string>; value: number }
interface Exposition { samples: Sample[]; types: Map<string, string> }

// prom-client writes NaN as `Nan` (an idle event-loop gauge); Prometheus reads both.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|\+Inf|-Inf|NaN|Nan))$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;

/** Parses the text exposition; throws on a line that is not `# HELP`, `# TYPE`, blank, or `name{labels} value`. */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type) types.set(type[1]!, type[2]!);
      else if (!/^# HELP \S+ /.test(line)) throw new Error(`a comment that is neither HELP nor TYPE: ${JSON.stringify(line)}`);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (!l) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

const hasLabels = (s: Sample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);

/** The one series of `name` with exactly these labels (a bucket's `le` aside); 0 when absent. */
function valueIn(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.keys(labels).length;
  const match = samples.find((s) => s.name === name && hasLabels(s, labels)
    && Object.keys(s.labels).filter((k) => k !== 'le').length === wanted);
  return match?.value ?? 0;
}

/** The sum over every series of `name` that has these labels (and any others). */
export function sumIn(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && hasLabels(s, labels)).reduce((sum, s) => sum + s.value, 0);
}

/** The samples of a running server's /metrics. */
export async function scrape(base: string): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${base}/metrics`)).text()).samples;
}

/** One series of a running server's /metrics (see valueIn); 0 when absent. */
export async function metricValue(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return valueIn(await scrape(base), name, labels);
}

/** One series of an in-process registry (a histogram's `_count` or `_sum` by that name); 0 when absent. */
export async function seriesValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { samples, types } = parseExposition(await metrics.registry.metrics());
  if (!types.has(name) && !types.has(name.replace(/_(count|sum|bucket)$/, ''))) throw new Error(`no metric ${name}`);
  return valueIn(samples, name, labels);
}
