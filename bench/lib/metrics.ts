/**
 * Server-side figures read from OnePic's /metrics between two moments of a run: the imaging
 * stages (onepic_transcode_stage_seconds) and the store operations (onepic_store_operation_seconds).
 */

type Labels = Record<string, string>;

/** Each sample of a histogram family: which part (sum, count, bucket), its labels and value. */
async function scrape(base: string, family: string): Promise<Array<{ part: string; labels: Labels; value: number }>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = new RegExp(`^${family}_(sum|count|bucket)\\{([^}]*)\\} ([0-9.eE+-]+|\\+Inf)`);
  const out = [];
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1] ?? '', x[2] ?? '']));
    out.push({ part: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return out;
}

export type StageTotals = Record<string, { sum: number; count: number }>;

/** Per stage, for one job kind ('upload' by default). */
export async function stageMetrics(base: string, job = 'upload'): Promise<StageTotals> {
  const out: StageTotals = {};
  for (const s of await scrape(base, 'onepic_transcode_stage_seconds')) {
    if (s.labels.job !== job || s.part === 'bucket') continue;
    const stage = (out[s.labels.stage ?? ''] ??= { sum: 0, count: 0 });
    if (s.part === 'sum') stage.sum = s.value; else stage.count = s.value;
  }
  return out;
}

export function stageDelta(before: StageTotals, after: StageTotals): Record<string, { count: number; sum_s: number; mean_ms: number }> {
  const out: Record<string, { count: number; sum_s: number; mean_ms: number }> = {};
  for (const [stage, a] of Object.entries(after)) {
    const b = before[stage] ?? { sum: 0, count: 0 };
    const count = a.count - b.count;
    if (count > 0) out[stage] = { count, sum_s: +(a.sum - b.sum).toFixed(4), mean_ms: +(((a.sum - b.sum) / count) * 1000).toFixed(2) };
  }
  return out;
}

export type StoreTotals = Record<string, { sum: number; count: number; buckets: Record<string, number> }>;

/** Count, sum and histogram buckets per `store.operation`. */
export async function storeMetrics(base: string): Promise<StoreTotals> {
  const out: StoreTotals = {};
  for (const s of await scrape(base, 'onepic_store_operation_seconds')) {
    const op = (out[`${s.labels.store}.${s.labels.operation}`] ??= { sum: 0, count: 0, buckets: {} });
    if (s.part === 'bucket') op.buckets[s.labels.le ?? ''] = s.value;
    else if (s.part === 'sum') op.sum = s.value;
    else op.count = s.value;
  }
  return out;
}

/** Per operation between two scrapes: count, mean, and the bucket bound that holds the slowest. */
export function storeDelta(before: StoreTotals, after: StoreTotals): Record<string, { count: number; mean_ms: number; max_under_ms: number | string }> {
  const out: Record<string, { count: number; mean_ms: number; max_under_ms: number | string }> = {};
  for (const [op, a] of Object.entries(after)) {
    const b = before[op] ?? { sum: 0, count: 0, buckets: {} };
    const count = a.count - b.count;
    if (count <= 0) continue;
    const bounds = Object.keys(a.buckets).filter((le) => le !== '+Inf').map(Number).sort((x, y) => x - y);
    const slowest = bounds.find((le) => (a.buckets[String(le)] ?? 0) - (b.buckets[String(le)] ?? 0) >= count);
    out[op] = { count, mean_ms: +(((a.sum - b.sum) / count) * 1000).toFixed(2), max_under_ms: slowest === undefined ? 'over the top bucket' : slowest * 1000 };
  }
  return out;
}
