import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyJpeg } from '../fixtures/images.js';
import { register, upload } from '../support/http.js';
import { closeInspectors } from '../support/inspect.js';
import { metricValue } from '../support/metrics.js';
import { removeDataDir, type RunningServer, startServer } from '../support/server.js';

/**
 * Issue 13, item 1: render storms. Anonymous clients ask for every size and format of one
 * picture, through `/{user}` and `/i/{key}`. The design bounds what that may cost: the stored
 * renditions of a picture (a fixed ladder of sizes per format, docs/DESIGN.md section 9.1),
 * other users' uploads (the render lane apart from the upload lane), and the rendition cache
 * (placeholders in a cache of their own). Other users' cached-hit p99 is measured and printed.
 */

// DESIGN's stated bound on the stored renditions of one picture, all four formats.
const STORED_BOUND_BYTES = 4 * 1024 * 1024;
const STORM_MS = 15_000;
const STORM_RATE = 100;
const STORM_CONNECTIONS = 32;
const PROBES = 400;

/** Bytes of every file under dir (0 when it does not exist). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, entry.name);
    total += entry.isDirectory() ? await treeBytes(p) : (await stat(p)).size;
  }
  return total;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** Sequential GETs of one URL over one kept-alive connection; the latencies in ms. */
async function latencies(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      get(url, { agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`probe answered ${res.statusCode}`));
        res.resume().on('end', resolve);
      }).on('error', reject);
    });
    out.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return out;
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;

const STORM_CLIENT = path.resolve(import.meta.dirname, '../../scripts/load/storm-client.mjs');

/** The storm (scripts/load/storm-client.mjs): `rate` requests a second over at most `connections`, paths cycled; its status counts. */
function storm(base: string, paths: string[], ms: number, rate: number, connections: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const args = [base, ms, rate, connections].map(String);
    const child = spawn(process.execPath, [STORM_CLIENT, ...args, JSON.stringify(paths)]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', () => { try { resolve(JSON.parse(out) as Record<string, number>); } catch (err) { reject(err); } });
  });
}

/** The sizes worth storing first (so the storm surely reaches them), then every size 1..2048 in a spread order; each format, both URL forms. */
function stormPaths(user: string, hash: string): string[] {
  const paths: string[] = [];
  const exts = ['jpg', 'png', 'webp', 'avif'];
  for (const size of [32, 64, 128, 256, 512, 768]) {
    for (const ext of exts) paths.push(`/${user}.${ext}?s=${size}`, `/i/${user}.${hash}.${size}.${ext}`);
  }
  for (let i = 0; i < 2048; i++) {
    const size = 1 + ((i * 997) % 2048);
    const ext = exts[i % 4]!;
    paths.push(i % 2 === 0 ? `/${user}.${ext}?s=${size}` : `/i/${user}.${hash}.${size}.${ext}`);
  }
  return paths;
}

describe('a render storm on one picture', () => {
  let server: RunningServer;
  let target: { user: string; hash: string };
  let otherToken: string;

  beforeAll(async () => {
    server = await startServer();
    const token = await register(server.base, 'stormed');
    const res = await upload(server.base, 'stormed', token, await noisyJpeg(1600, 1200), '?active=true');
    expect(res.status).toBe(201);
    const url = String(((await res.json()) as { url: string }).url);
    target = { user: 'stormed', hash: url.split('.')[1]! };
    otherToken = await register(server.base, 'bystander');
    expect((await upload(server.base, 'bystander', otherToken, await noisyJpeg(640, 480), '?active=true')).status).toBe(201);
  });

  afterAll(async () => {
    agent.destroy();
    if (server.proc.exitCode === null) await server.stop();
    await removeDataDir(server.dataDir);
    await closeInspectors();
  });

  it('stores no more than the stated bound and keeps accepting others\' uploads', async () => {
    const hit = `${server.base}/bystander.jpg?s=64`;
    await latencies(hit, 50); // warm: the rendition is cached and the connection open
    const quiet = p99(await latencies(hit, PROBES));
    const pictureDir = path.join(server.dataDir, 'blobs', target.user, target.hash);
    const before = await treeBytes(pictureDir);

    const stormDone = storm(server.base, stormPaths(target.user, target.hash), STORM_MS, STORM_RATE, STORM_CONNECTIONS);
    await new Promise((r) => setTimeout(r, 1000)); // the storm under way
    const during = p99(await latencies(hit, PROBES));
    const uploads: number[] = [];
    for (let i = 0; i < 3; i++) uploads.push((await upload(server.base, 'bystander', otherToken, await noisyJpeg(600 + i, 480))).status);
    const statuses = await stormDone;
    // Stores finish after the replies: let the last puts land.
    await new Promise((r) => setTimeout(r, 1000));
    const grown = (await treeBytes(pictureDir)) - before;

    console.log(JSON.stringify({ quietP99ms: quiet, stormP99ms: during, storedGrowthBytes: grown, uploads, stormStatuses: statuses }));
    expect(grown, 'stored bytes of one picture under the storm').toBeLessThanOrEqual(STORED_BOUND_BYTES);
    expect(uploads, 'another user\'s uploads during the storm').toEqual([201, 201, 201]);
    // The cached-hit p99 ratio is printed above, not asserted: on the shared two-core test
    // machine it moved with the other load on the machine more than with the storm (see the
    // report in docs/DESIGN.md "Render storms"); bench/ is where it is measured.
  });
});

describe('a flood of generated placeholders', () => {
  let server: RunningServer;

  beforeAll(async () => {
    // A small rendition cache, so that today's shared cache would be flooded quickly.
    server = await startServer({ env: { ONEPIC_RENDITION_CACHE_MB: '1' } });
    const token = await register(server.base, 'realone');
    expect((await upload(server.base, 'realone', token, await noisyJpeg(640, 480), '?active=true')).status).toBe(201);
  });

  afterAll(async () => {
    if (server.proc.exitCode === null) await server.stop();
    await removeDataDir(server.dataDir);
    await closeInspectors();
  });

  it('does not evict a real rendition from the rendition cache', async () => {
    const real = `${server.base}/realone.png?s=64`;
    expect((await fetch(real)).status).toBe(200);
    const hits = () => metricValue(server.base, 'onepic_cache_lookups_total', { cache: 'rendition', result: 'hit' });

    let next = 0;
    const flood = async () => {
      while (next < 1200) {
        const res = await fetch(`${server.base}/nobody-${next++}.png?d=identicon&s=${256 + (next % 256)}`);
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
    };
    await Promise.all([flood(), flood(), flood(), flood()]);

    const hitsBefore = await hits();
    expect((await fetch(real)).status).toBe(200);
    expect(await hits(), 'the real rendition is still a cache hit after 1,200 identicons').toBe(hitsBefore + 1);
  });
});
