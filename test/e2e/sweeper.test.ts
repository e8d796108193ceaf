import { afterAll, describe, expect, it } from 'vitest';
import { meanDifference } from '../fixtures/images.js';
import { distinctJpeg } from '../fixtures/distinct-jpeg.js';
import { api, getImage, register, upload } from '../support/http.js';
import { metricValue } from '../support/metrics.js';
import { removeDataDir, type RunningServer, startServer, tempDataDir } from '../support/server.js';
import { closeInspectors, masterExists, plantOrphan, readStoredState } from '../support/inspect.js';
import { eventually } from '../support/timing.js';

/**
 * The orphan sweeper: it spares a blob younger than the grace (it may belong to an upload in
 * flight) and collects it once the grace is 0; and removing one of two pictures that share a
 * master (identical bytes) leaves the other one whole.
 */

interface Picture { id: string; url: string; width: number; active: boolean }

const servers: RunningServer[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const s of servers) await s.kill();
  await closeInspectors();
  for (const d of dirs) await removeDataDir(d);
});

/** A sweep every tenth of a second, so waiting for "two more sweeps" is short; each is logged at info. */
async function boot(dataDir: string, graceSeconds: number): Promise<RunningServer> {
  const server = await startServer({
    dataDir, env: { ONEPIC_SWEEP_INTERVAL_SECONDS: '0.1', ONEPIC_SWEEP_GRACE_SECONDS: String(graceSeconds), ONEPIC_LOG_LEVEL: 'info' },
  });
  servers.push(server);
  return server;
}

/** How many sweeps the server has logged as done. */
const sweepsDone = (server: RunningServer) => server.output().split('\n').filter((l) => l.includes('orphan sweep done')).length;

/** Waits until `count` more sweeps than now have completed. */
async function moreSweeps(server: RunningServer, count: number): Promise<void> {
  const target = sweepsDone(server) + count;
  expect(await eventually(() => sweepsDone(server) >= target, 10_000), `${count} more sweeps:\n${server.output()}`).toBe(true);
}

async function uploaded(server: RunningServer, user: string, token: string, bytes: Buffer, query = ''): Promise<Picture> {
  const res = await upload(server.base, user, token, bytes, query);
  expect(res.status).toBe(201);
  return (await res.json()) as Picture;
}

/** `/{username}` serves exactly `picture` (the rendition its url names). */
async function expectServes(server: RunningServer, user: string, picture: Picture): Promise<void> {
  const served = await getImage(`${server.base}/${user}.${picture.url.split('.').at(-1)}?s=${picture.width}&d=404`);
  const expected = await getImage(`${server.base}${picture.url}`);
  expect(expected.status).toBe(200);
  expect(served.status).toBe(200);
  expect(served.headers.get('etag')).toBe(expected.headers.get('etag'));
  expect(await meanDifference(served.bytes, expected.bytes)).toBeLessThan(3);
}

describe('orphan sweeper', () => {
  it('spares an orphan younger than the grace, and collects it with a grace of 0', async () => {
    const user = 'sweepy';
    const dataDir = await tempDataDir();
    dirs.push(dataDir);
    // Planted before the server starts, so that every sweep of the first server sees it.
    const orphan = await plantOrphan(dataDir, user);

    const patient = await boot(dataDir, 3600);
    const token = await register(patient.base, user);
    const kept = await uploaded(patient, user, token, await distinctJpeg(1), '?active=true');
    await moreSweeps(patient, 2);
    expect(await masterExists(dataDir, user, orphan), 'an orphan within the grace survives sweeps').toBe(true);
    expect(await metricValue(patient.base, 'onepic_orphan_blobs_collected_total')).toBe(0);
    expect(await patient.stop()).toBe(0);

    const eager = await boot(dataDir, 0);
    expect(await eventually(async () => !(await masterExists(dataDir, user, orphan)), 10_000), 'orphan collected with grace 0').toBe(true);
    // The count follows the removal a moment later (the sweep counts a group once it is gone).
    const counted = await eventually(async () => (await metricValue(eager.base, 'onepic_orphan_blobs_collected_total')) >= 1, 10_000);
    expect(counted, 'the collection is counted').toBe(true);
    // The referenced master survives the same sweeps.
    await moreSweeps(eager, 1);
    const stored = await readStoredState(dataDir, user);
    expect(stored.pictures.map((p) => p.id)).toEqual([kept.id]);
    expect(await masterExists(dataDir, user, stored.pictures[0]!.hash)).toBe(true);
    await expectServes(eager, user, kept);
  }, 40_000);

  it('deleting one of two pictures that share a master leaves the other served, even with a grace of 0', async () => {
    const user = 'sharer';
    const dataDir = await tempDataDir();
    dirs.push(dataDir);
    const server = await boot(dataDir, 0);
    const token = await register(server.base, user);
    const bytes = await distinctJpeg(2);
    const first = await uploaded(server, user, token, bytes);
    const second = await uploaded(server, user, token, bytes);
    const other = await uploaded(server, user, token, await distinctJpeg(3));
    const stored = await readStoredState(dataDir, user);
    const hashOf = (id: string) => stored.pictures.find((p) => p.id === id)!.hash;
    expect(hashOf(first.id), 'identical bytes share one master').toBe(hashOf(second.id));
    expect(second.url).toBe(first.url);
    const shared = hashOf(first.id);

    expect((await api(server.base, 'PUT', `/api/v1/users/${user}/active`, { token, body: { pictureId: second.id } })).status).toBe(200);
    expect((await api(server.base, 'DELETE', `/api/v1/users/${user}/pictures/${first.id}`, { token })).status).toBe(204);
    expect(await masterExists(dataDir, user, shared), 'the shared master outlives the delete').toBe(true);
    await expectServes(server, user, second);
    await moreSweeps(server, 2);
    expect(await masterExists(dataDir, user, shared), 'the shared master outlives the sweeps').toBe(true);
    expect((await api(server.base, 'GET', `/api/v1/users/${user}/pictures/${second.id}`, { token })).status).toBe(200);
    await expectServes(server, user, second);

    // Once no picture names it, it goes (at once, or at the next sweep), and the other master stays.
    expect((await api(server.base, 'DELETE', `/api/v1/users/${user}/pictures/${second.id}`, { token })).status).toBe(204);
    expect(await eventually(async () => !(await masterExists(dataDir, user, shared)), 10_000), 'unreferenced master collected').toBe(true);
    expect((await getImage(`${server.base}/${user}?d=404`)).status).toBe(404);
    expect(await masterExists(dataDir, user, hashOf(other.id))).toBe(true);
    expect((await getImage(`${server.base}${other.url}`)).status).toBe(200);
  }, 40_000);
});
