import type { Metrics } from '../../../src/metrics/metrics.js';

/** The value of one series (a histogram's `_count` or `_sum` by passing that name); 0 when absent. */
export async function seriesValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const family = name.replace(/_(count|sum)$/, '');
  const metric = metrics.registry.getSingleMetric(family) ?? metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.find((v) => ((v as { metricName?: string }).metricName ?? family) === name
    && Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want)
    && Object.keys(v.labels).filter((k) => k !== 'le').length === Object.keys(labels).length);
  return match?.value ?? 0;
}
