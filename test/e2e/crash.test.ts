import { randomUUID } from 'node:crypto';
import { access, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { meanDifference } from '../fixtures/images.js';
import { distinctJpeg } from '../fixtures/distinct-jpeg.js';
import { ON_SERVICES } from '../support/backends.js';
import { api, getImage, register, upload } from '../support/http.js';
import { metricValue } from '../support/metrics.js';
import { removeDataDir, type RunningServer, startServer, tempDataDir } from '../support/server.js';
import { blobGroups, closeInspectors, masterExists, plantOrphan, readStoredState } from '../support/inspect.js';
import { eventually } from '../support/timing.js';

/**
 * SIGKILL in the middle of concurrent uploads, then a restart on the same data directory.
 * Whatever the client was told (201) survives and is served; nothing names a missing blob; and
 * what the crash left behind (masters without metadata, temp files of interrupted puts) is
 * collected by the sweeper and by the blob store's open(). Three kill-restart cycles.
 */

const USER = 'crashy';
const UPLOADS = 20;
const KILL_AFTER = 4;
const CYCLES = 3;

interface Picture { id: string; url: string; width: number; active: boolean }

const servers: RunningServer[] = [];
let dataDir: string;

afterAll(async () => {
  for (const s of servers) await s.kill();
  await closeInspectors();
  if (dataDir) await removeDataDir(dataDir);
});

async function boot(env: Record<string, string>): Promise<RunningServer> {
  // These uploads of one account race each other on purpose: room for all of them at once (the
  // per-account bound has its own test, test/hostile/slow-uploads.test.ts).
  const server = await startServer({ dataDir, env: { ONEPIC_UPLOADS_PER_ACCOUNT: String(UPLOADS), ...env } });
  servers.push(server);
  return server;
}

/** Fires the uploads at once and SIGKILLs the server once KILL_AFTER of them have been answered 201. */
async function uploadsInterruptedByKill(server: RunningServer, token: string, cycle: number): Promise<{ created: Picture[]; pendingAtKill: number }> {
  const bodies = await Promise.all(Array.from({ length: UPLOADS }, (_, i) => distinctJpeg(cycle * 1000 + i, 640)));
  const created: Picture[] = [];
  let pending = UPLOADS;
  let pendingAtKill = -1;
  let killed: Promise<void> | undefined;
  await Promise.all(bodies.map(async (body, i) => {
    try {
      const res = await upload(server.base, USER, token, body, i % 4 === 3 ? '?active=true' : '');
      const answer = (await res.json()) as Picture;
      // Anything but 201 (or a dropped connection) is wrong: the server was healthy until killed.
      expect(res.status, JSON.stringify(answer)).toBe(201);
      created.push(answer);
      if (created.length === KILL_AFTER && !killed) {
        pendingAtKill = pending - 1;
        killed = server.kill();
      }
    } catch (err) {
      // A connection cut by the kill: the client was told nothing, so nothing is promised.
      if (!killed || !(err instanceof TypeError)) throw err;
    } finally {
      pending--;
    }
  }));
  await (killed ?? server.kill());
  return { created, pendingAtKill };
}

/** Every master group under the user's blobs that holds a blob (an empty directory holds none). */
const groupsWithFiles = (username: string): Promise<string[]> => blobGroups(dataDir, username);

async function plantTemp(ageMs: number): Promise<string> {
  const file = path.join(dataDir, 'blobs', '.tmp', `${randomUUID()}.tmp`);
  await writeFile(file, 'half a put');
  const then = new Date(Date.now() - ageMs);
  await utimes(file, then, then);
  return file;
}

const exists = (file: string) => access(file).then(() => true, () => false);

describe('SIGKILL during uploads, then restart on the same data directory', () => {
  it('keeps every acknowledged upload, names no missing blob and collects what the crash left', async () => {
    dataDir = await tempDataDir();
    let token = '';
    const acknowledged = new Map<string, Picture>();

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // The sweeper is off while uploading: with a grace of 0 it could take an upload's master
      // between its put and its insert, which the grace exists to prevent.
      const busy = await boot({ ONEPIC_SWEEP_INTERVAL_SECONDS: '0' });
      if (cycle === 0) token = await register(busy.base, USER);
      const { created, pendingAtKill } = await uploadsInterruptedByKill(busy, token, cycle);
      expect(created.length).toBeGreaterThanOrEqual(KILL_AFTER);
      expect(pendingAtKill, 'uploads still in flight when the server was killed').toBeGreaterThan(0);
      for (const p of created) acknowledged.set(p.id, p);

      // What a crash between the master's put and the metadata insert leaves, made certain.
      const orphan = await plantOrphan(dataDir, USER);
      let ancientTemp = '';
      let staleTemp = '';
      // Temp files of interrupted puts are the filesystem blob store's own (an S3 put is atomic).
      if (!ON_SERVICES) {
        ancientTemp = await plantTemp(20 * 60_000);
        staleTemp = await plantTemp(5 * 60_000);
      }

      const server = await boot({ ONEPIC_SWEEP_INTERVAL_SECONDS: '0.2', ONEPIC_SWEEP_GRACE_SECONDS: '0', ONEPIC_LOG_LEVEL: 'info' });
      // Temp files of interrupted puts are the filesystem blob store's own (an S3 put is atomic).
      if (!ON_SERVICES) expect(await exists(ancientTemp), 'open() removes temp files older than 15 minutes').toBe(false);

      // Every upload the client was told about is listed and served.
      const list = await api(server.base, 'GET', `/api/v1/users/${USER}/pictures`, { token });
      expect(list.status).toBe(200);
      const listed = new Map((list.body.pictures as Picture[]).map((p) => [p.id, p]));
      for (const [id, p] of acknowledged) {
        expect(listed.has(id), `acknowledged upload ${id} (cycle ${cycle})`).toBe(true);
        const served = await getImage(`${server.base}${p.url}`);
        expect(served.status, p.url).toBe(200);
        expect((await sharp(served.bytes).metadata()).width).toBe(p.width);
      }

      // Nothing names a missing blob; the active pointer names a picture and is what /{username} serves.
      let stored = await readStoredState(dataDir, USER);
      expect(stored.pictures.map((p) => p.id).sort()).toEqual([...listed.keys()].sort());
      for (const p of stored.pictures) expect(await masterExists(dataDir, USER, p.hash), `master of ${p.id}`).toBe(true);
      const user = await api(server.base, 'GET', `/api/v1/users/${USER}`, { token });
      expect(user.body.active?.id ?? null).toBe(stored.active ?? null);
      if (user.body.active) {
        const active = user.body.active as Picture;
        expect(listed.has(active.id)).toBe(true);
        const served = await getImage(`${server.base}/${USER}.${active.url.split('.').at(-1)}?s=${active.width}&d=404`);
        const expected = await getImage(`${server.base}${active.url}`);
        expect(served.status).toBe(200);
        expect(served.headers.get('etag')).toBe(expected.headers.get('etag'));
        expect(await meanDifference(served.bytes, expected.bytes)).toBeLessThan(3);
      } else {
        expect((await getImage(`${server.base}/${USER}?d=404`)).status).toBe(404);
      }

      // The sweeper (every 0.2 s, grace 0) collects the orphans, and housekeeping the stale temp file.
      // This server's counter starts at 0, so any count is its own sweeps'.
      const swept = await eventually(async () => !(await masterExists(dataDir, USER, orphan))
        && (ON_SERVICES || !(await exists(staleTemp))) // no temp files in S3, see above
        && (await metricValue(server.base, 'onepic_orphan_blobs_collected_total')) >= 1, 15_000);
      expect(swept, `planted orphan ${orphan} and stale temp file collected:\n${server.output()}`).toBe(true);
      // The orphan going is not the sweep ending: it removes groups one by one. Every orphan was
      // there before this server started, so the first sweep that completes has removed them all.
      const sweepEnded = await eventually(() => server.output().includes('orphan sweep done'), 15_000);
      expect(sweepEnded, `a sweep completed:\n${server.output()}`).toBe(true);
      stored = await readStoredState(dataDir, USER);
      const referenced = new Set(stored.pictures.map((p) => p.hash));
      for (const hash of await groupsWithFiles(USER)) expect(referenced.has(hash), `blob group ${hash} is referenced`).toBe(true);
      for (const p of stored.pictures) expect(await masterExists(dataDir, USER, p.hash), `master of ${p.id} after the sweep`).toBe(true);
      for (const p of acknowledged.values()) expect((await getImage(`${server.base}${p.url}`)).status, `${p.url} after the sweep`).toBe(200);

      await server.kill();
    }
    expect(acknowledged.size).toBeGreaterThanOrEqual(CYCLES * KILL_AFTER);
  }, 80_000);
});
