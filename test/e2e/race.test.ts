import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meanDifference } from '../fixtures/images.js';
import { distinctJpeg } from '../fixtures/distinct-jpeg.js';
import { api, getImage, register, upload } from '../support/http.js';
import { removeDataDir, type RunningServer, startServer } from '../support/server.js';
import { closeInspectors, masterExists, readStoredState } from '../support/inspect.js';
import { sleep } from '../support/timing.js';

/**
 * Many clients change one user's pictures at once: uploads (several of identical bytes, which
 * share one content-addressed master), activations, deletions and reads. Every answer must be one
 * the contract allows, and afterwards the metadata, the blob store and what `/{username}` serves
 * must agree. The sweeper runs several times a second meanwhile, with a grace (GRACE_MS) longer
 * than the step it guards (an upload's blob put to its metadata insert), as the grace must be, and
 * short enough that deletes and sweeps collect masters during the storm instead of leaving them
 * all alone.
 */

const USER = 'racer';
const LOOPS = 24;
const OPERATIONS = 360;
const STORM_DEADLINE_MS = 40_000;
const GRACE_MS = 750;
/** Until every master written before it is older than the grace: age is only measured in time. */
const pastTheGrace = () => sleep(GRACE_MS + 250);

interface Picture { id: string; url: string; width: number; active: boolean }

let server: RunningServer;
let token: string;
let fixtures: Buffer[];

const json = (method: string, pathname: string, body?: unknown) => api(server.base, method, pathname, { token, body });
const image = (pathname: string) => getImage(`${server.base}${pathname}`);

const outcome = (r: { status: number; body: any }) => ({ status: r.status, code: r.body?.error?.code as string | undefined });

const extOf = (url: string) => url.split('.').at(-1)!;

/** `/{username}` at the size and format of the picture's url must serve that very rendition. */
async function expectServes(picture: Picture, context: string): Promise<void> {
  const served = await image(`/${USER}.${extOf(picture.url)}?s=${picture.width}&d=404`);
  const expected = await image(picture.url);
  expect(expected.status, `${context}: ${picture.url}`).toBe(200);
  expect(served.status, `${context}: /${USER} should serve ${picture.id}`).toBe(200);
  expect(served.headers.get('etag'), `${context}: ETag of /${USER} against ${picture.url}`).toBe(expected.headers.get('etag'));
  expect(await meanDifference(served.bytes, expected.bytes), context).toBeLessThan(3);
}

beforeAll(async () => {
  // One account's uploads race each other on purpose: room for all of them at once (the
  // per-account bound has its own test, test/hostile/slow-uploads.test.ts).
  server = await startServer({ env: {
    ONEPIC_SWEEP_INTERVAL_SECONDS: '0.25', ONEPIC_SWEEP_GRACE_SECONDS: String(GRACE_MS / 1000), ONEPIC_UPLOADS_PER_ACCOUNT: '64',
  } });
  token = await register(server.base, USER);
  fixtures = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((seed) => distinctJpeg(seed)));
});

afterAll(async () => {
  await server?.kill();
  await closeInspectors();
  if (server) await removeDataDir(server.dataDir);
});

describe('concurrent changes to one user', () => {
  it('answer only allowed statuses and leave metadata, blobs and /{username} consistent', async () => {
    // The test can only tell pictures apart if the fixtures look different.
    for (let a = 0; a < fixtures.length; a++) {
      for (let b = a + 1; b < fixtures.length; b++) expect(await meanDifference(fixtures[a]!, fixtures[b]!)).toBeGreaterThan(40);
    }

    // Every fixture once, and fixtures 0 and 1 three more times each: identical bytes, one master.
    // Fixtures 6 and 7 (four copies each) are never uploaded again, so a delete that wrongly
    // collects a shared master is not repaired by a later upload of the same bytes.
    const known: string[] = [];
    const seeds = [0, 1, 2, 3, 4, 5, 0, 1, 0, 1, 0, 1, 6, 6, 6, 6, 7, 7, 7, 7];
    for (const res of await Promise.all(seeds.map((s) => upload(server.base, USER, token, fixtures[s]!)))) {
      expect(res.status).toBe(201);
      known.push(((await res.json()) as Picture).id);
    }
    const before = await readStoredState(server.dataDir, USER);
    expect(before.pictures).toHaveLength(seeds.length);
    expect(new Set(before.pictures.map((p) => p.hash)).size).toBe(8);
    // Let the masters age past the grace, so deletes and sweeps may collect them during the storm.
    await pastTheGrace();

    const violations: string[] = [];
    const counts = new Map<string, number>();
    let started = 0;
    const deadline = Date.now() + STORM_DEADLINE_MS;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

    const operation = async (): Promise<void> => {
      const roll = Math.random();
      let op: string;
      let status: number;
      let code: string | undefined;
      if (roll < 0.25) {
        const active = Math.random() < 0.35;
        op = active ? 'upload?active' : 'upload';
        const res = await upload(server.base, USER, token, pick(fixtures.slice(0, 6)), active ? '?active=true' : '');
        status = res.status;
        const body = (await res.json()) as Picture & { error?: { code: string } };
        code = body.error?.code;
        if (status === 201) known.push(body.id);
        if (status !== 201) violations.push(`${op}: ${status} ${code}`);
      } else if (roll < 0.45) {
        op = 'put active';
        ({ status, code } = outcome(await json('PUT', `/api/v1/users/${USER}/active`, { pictureId: pick(known) })));
        if (!(status === 200 || (status === 404 && code === 'picture_not_found'))) violations.push(`${op}: ${status} ${code}`);
      } else if (roll < 0.63) {
        op = 'delete picture';
        ({ status, code } = outcome(await json('DELETE', `/api/v1/users/${USER}/pictures/${pick(known)}`)));
        if (!(status === 204 || (status === 404 && code === 'picture_not_found'))) violations.push(`${op}: ${status} ${code}`);
      } else if (roll < 0.68) {
        op = 'delete active';
        ({ status } = await json('DELETE', `/api/v1/users/${USER}/active`));
        if (status !== 204) violations.push(`${op}: ${status}`);
      } else {
        op = 'get avatar';
        const res = await image(`/${USER}.jpg?s=${pick([32, 48, 96])}&d=404`);
        status = res.status;
        if (!(res.status === 404 || (res.status === 200 && res.headers.get('content-type') === 'image/jpeg' && res.bytes.length > 0))) {
          violations.push(`${op}: ${res.status} ${res.headers.get('content-type')} ${res.bytes.subarray(0, 200).toString()}`);
        }
      }
      counts.set(`${op} ${status}`, (counts.get(`${op} ${status}`) ?? 0) + 1);
    };

    await Promise.all(Array.from({ length: LOOPS }, async () => {
      while (started < OPERATIONS && Date.now() < deadline) {
        started++;
        await operation().catch((err: unknown) => { violations.push(`request failed: ${String(err)}`); });
      }
    }));
    expect(violations, JSON.stringify(Object.fromEntries(counts))).toEqual([]);
    // Every kind of operation ran, and some changes really happened.
    for (const op of ['upload 201', 'put active 200', 'delete picture 204', 'delete active 204']) {
      expect(counts.get(op) ?? 0, `${op} in ${JSON.stringify(Object.fromEntries(counts))}`).toBeGreaterThan(0);
    }

    // The API, the SQLite file and the blob store agree.
    const user = await json('GET', `/api/v1/users/${USER}`);
    const list = await json('GET', `/api/v1/users/${USER}/pictures`);
    expect(user.status).toBe(200);
    expect(list.status).toBe(200);
    const pictures = list.body.pictures as Picture[];
    const stored = await readStoredState(server.dataDir, USER);
    expect(stored.pictures.map((p) => p.id).sort()).toEqual(pictures.map((p) => p.id).sort());
    if (user.body.active !== null) expect(pictures.map((p) => p.id)).toContain(user.body.active.id);
    expect(stored.active ?? null).toBe(user.body.active?.id ?? null);
    if (stored.active !== null) expect(stored.pictures.map((p) => p.id)).toContain(stored.active);
    for (const p of stored.pictures) {
      expect(await masterExists(server.dataDir, USER, p.hash), `master of ${p.id}`).toBe(true);
    }
    for (const p of pictures) expect((await image(p.url)).status, `${p.url} of ${p.id}`).toBe(200);

    // /{username} serves exactly the active picture, or 404 when there is none.
    if (user.body.active) await expectServes(user.body.active as Picture, 'after the storm');
    else expect((await image(`/${USER}.jpg?d=404`)).status).toBe(404);

    // The same-node bound: the read right after a change serves the change. Each step first
    // warms the cache with the old state, then changes it, then reads once.
    const hashOf = (p: Picture) => p.url.split('.')[1]!;
    const byHash = new Map<string, Picture>();
    for (const p of pictures) if (!byHash.has(hashOf(p))) byHash.set(hashOf(p), p);
    for (let seed = 0; byHash.size < 3; seed++) {
      const res = await upload(server.base, USER, token, fixtures[seed]!);
      expect(res.status).toBe(201);
      const p = (await res.json()) as Picture;
      if (!byHash.has(hashOf(p))) byHash.set(hashOf(p), p);
    }
    const distinct = [...byHash.values()];
    for (const next of [...distinct, ...distinct]) {
      await image(`/${USER}.${extOf(next.url)}?s=${next.width}&d=404`);
      const put = await json('PUT', `/api/v1/users/${USER}/active`, { pictureId: next.id });
      expect(put.status).toBe(200);
      await expectServes(next, `right after PUT active ${next.id}`);
    }
    expect((await json('DELETE', `/api/v1/users/${USER}/active`)).status).toBe(204);
    expect((await image(`/${USER}.jpg?d=404`)).status, 'right after DELETE active').toBe(404);
    const last = distinct[0]!;
    expect((await json('PUT', `/api/v1/users/${USER}/active`, { pictureId: last.id })).status).toBe(200);
    await expectServes(last, 'reactivated');
    expect((await json('DELETE', `/api/v1/users/${USER}/pictures/${last.id}`)).status).toBe(204);
    expect((await image(`/${USER}.jpg?d=404`)).status, 'right after deleting the active picture').toBe(404);
    expect((await json('GET', `/api/v1/users/${USER}`)).body.active).toBeNull();
  }, 75_000);

  it('never leaves a picture without its master when the last copy of some bytes is deleted as they are uploaded again', async () => {
    // Each pair: DELETE the only picture of some bytes (a master older than the grace, so the
    // delete removes it) while the same bytes are uploaded again. Whatever the interleaving,
    // the new picture must keep its master.
    const user = 'reuploader';
    const userToken = await register(server.base, user);
    const headers = { Authorization: `Bearer ${userToken}` };
    for (let round = 0; round < 2; round++) {
      const bodies = await Promise.all(Array.from({ length: 40 }, (_, i) => distinctJpeg(1000 + round * 100 + i, 32)));
      const first = await Promise.all(bodies.map(async (b) => {
        const res = await upload(server.base, user, userToken, b);
        expect(res.status).toBe(201);
        return ((await res.json()) as Picture).id;
      }));
      await pastTheGrace();
      const again = await Promise.all(bodies.map(async (b, i) => {
        const [deleted, uploaded] = await Promise.all([
          fetch(`${server.base}/api/v1/users/${user}/pictures/${first[i]}`, { method: 'DELETE', headers }),
          upload(server.base, user, userToken, b),
        ]);
        expect(deleted.status).toBe(204);
        expect(uploaded.status).toBe(201);
        return (await uploaded.json()) as Picture;
      }));
      const stored = await readStoredState(server.dataDir, user);
      const missing: string[] = [];
      for (const p of again) {
        const row = stored.pictures.find((r) => r.id === p.id);
        expect(row, p.id).toBeDefined();
        const present = await masterExists(server.dataDir, user, row!.hash);
        const served = (await image(p.url)).status;
        if (!present || served !== 200) missing.push(`${p.id}: master ${present ? 'present' : 'missing'}, ${p.url} ${served}`);
      }
      expect(missing, `round ${round}`).toEqual([]);
    }
  }, 40_000);

  it('serves the committed active picture on this node after concurrent activations', async () => {
    // An `?active=true` upload and a PUT active race; once both have answered, the node that
    // took them must serve what the metadata says is active, not whichever wrote its cache last.
    const user = 'switcher';
    const userToken = await register(server.base, user);
    const put = async (pictureId: string) => fetch(`${server.base}/api/v1/users/${user}/active`, {
      method: 'PUT', headers: { Authorization: `Bearer ${userToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ pictureId }),
    });
    const target = (await (await upload(server.base, user, userToken, fixtures[6]!)).json()) as Picture;
    const mismatches: string[] = [];
    for (let round = 0; round < 48; round++) {
      await image(`/${user}.jpg?s=32&d=404`);
      // The PUT must land while the upload is between its insert and its answer: sweep the offset.
      const delay = (round * 7) % 24;
      const [uploaded, switched] = await Promise.all([
        upload(server.base, user, userToken, fixtures[round % 6]!, '?active=true'),
        sleep(delay).then(() => put(target.id)),
      ]);
      expect(uploaded.status).toBe(201);
      expect(switched.status).toBe(200);
      await uploaded.arrayBuffer();
      await switched.arrayBuffer();
      const active = (await json('GET', `/api/v1/users/${user}`)).body.active as Picture;
      const served = await image(`/${user}.${extOf(active.url)}?s=${active.width}&d=404`);
      const expected = await image(active.url);
      const [servedTag, activeTag] = [served.headers.get('etag'), expected.headers.get('etag')];
      if (servedTag !== activeTag) mismatches.push(`round ${round}: serves ${servedTag}, active ${active.id} is ${activeTag}`);
    }
    expect(mismatches).toEqual([]);
  }, 40_000);
});
