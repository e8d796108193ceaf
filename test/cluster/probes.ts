import sharp from 'sharp';
import type { TestCluster } from './cluster.js';

/** Small probes of a running cluster that the cases share. */

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inBatches<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  }));
  return out;
}

/**
 * Which node nginx sends each name's avatar requests to (X-Upstream). The names need not exist:
 * `d=404` makes a missing user a cheap JSON 404, and routing only looks at the path.
 */
export async function routing(cluster: TestCluster, names: string[]): Promise<Map<string, number>> {
  const nodes = await inBatches(names, 8, async (name) => {
    const res = await fetch(`${cluster.base}/${name}?d=404`);
    await res.arrayBuffer();
    return cluster.nodeOf(res.headers.get('x-upstream'));
  });
  return new Map(names.map((name, i) => [name, nodes[i]!]));
}

/**
 * The colour of the avatar a base URL serves for `name` now: 'red' or 'blue' (the two pictures
 * of the visibility case), told apart by decoding each distinct ETag once.
 */
export class ColourProbe {
  private readonly byEtag = new Map<string, 'red' | 'blue'>();

  constructor(private readonly name: string) {}

  async at(base: string): Promise<'red' | 'blue'> {
    const res = await fetch(`${base}/${this.name}?s=32`, { headers: { Accept: 'image/jpeg' } });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`GET ${base}/${this.name}: ${res.status} ${bytes.subarray(0, 200).toString()}`);
    const etag = res.headers.get('etag') ?? '';
    let colour = this.byEtag.get(etag);
    if (!colour) {
      const { channels } = await sharp(bytes).stats();
      colour = channels[0]!.mean > channels[2]!.mean ? 'red' : 'blue';
      this.byEtag.set(etag, colour);
    }
    return colour;
  }
}

/** Sends an authenticated JSON request; returns status and parsed body. */
export async function api(base: string, method: string, pathname: string, token: string, body?: unknown): Promise<{ status: number; body: any; node: string | null }> {
  const res = await fetch(`${base}${pathname}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, node: res.headers.get('x-upstream') };
}
