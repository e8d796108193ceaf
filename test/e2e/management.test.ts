import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLUE, GREEN, RED, near, opaquePng, phoneJpeg, pixelAt, webp } from '../fixtures/images.js';
import { expectError, expectPicture } from '../support/assertions.js';
import { api, getImage, register, upload } from '../support/http.js';
import { removeDataDir, type RunningServer, startServer } from '../support/server.js';
import { closeInspectors, countRows, pictureRows, readMaster, userBlobs } from '../support/inspect.js';
import { sleep } from '../support/timing.js';

/**
 * The management API, route by route, with the bodies the contract fixes. The server runs with
 * ONEPIC_SWEEP_GRACE_SECONDS=0 so that deletions remove blobs at once and the data directory
 * can be checked right after.
 */

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startServer({ env: { ONEPIC_SWEEP_GRACE_SECONDS: '0' } });
  base = server.base;
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  await closeInspectors();
  await removeDataDir(server.dataDir);
});

const solid = (colour: { r: number; g: number; b: number }, side = 120) =>
  sharp({ create: { width: side, height: side, channels: 3, background: colour } }).png().toBuffer();

async function uploadPicture(username: string, token: string, bytes: Buffer, query = '', type = 'image/png'): Promise<any> {
  const res = await upload(base, username, token, bytes, query, type);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

describe('POST /api/v1/users', () => {
  it('creates a user: 201 {username, token}, the name folded to lower case', async () => {
    const res = await api(base, 'POST', '/api/v1/users', { body: { username: 'Mixed-Case1', password: 'long enough pw' } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['token', 'username']);
    expect(res.body.username).toBe('mixed-case1');
    expect(typeof res.body.token).toBe('string');
    expect(res.body.token.length).toBeGreaterThanOrEqual(20);
    // The token works at once.
    expect((await api(base, 'GET', '/api/v1/users/mixed-case1/pictures', { token: res.body.token })).status).toBe(200);
  });

  it('answers 409 username_taken for a taken name, in any letter case', async () => {
    expect((await api(base, 'POST', '/api/v1/users', { body: { username: 'Arpit', password: 'long enough pw' } })).status).toBe(201);
    for (const username of ['arpit', 'ARPIT', 'Arpit', 'aRpIt']) {
      expectError(await api(base, 'POST', '/api/v1/users', { body: { username, password: 'another password' } }), 409, 'username_taken');
    }
    expect(await countRows(server.dataDir, 'users', 'arpit')).toBe(1);
  });

  it.each([
    '', '-lead', 'trail-', 'has_underscore', 'has.dot', 'has space', 'ünïcode', 'a'.repeat(40), '../etc', 'a/b', 'x%20y',
  ])('answers 422 for the invalid name %j', async (username) => {
    const res = await api(base, 'POST', '/api/v1/users', { body: { username, password: 'long enough pw' } });
    expectError(res, 422);
  });

  it('accepts names of 1 and 39 characters', async () => {
    for (const username of ['q', `a${'-b'.repeat(19)}`]) {
      expect(username.length === 1 || username.length === 39).toBe(true);
      expect((await api(base, 'POST', '/api/v1/users', { body: { username, password: 'long enough pw' } })).status, username).toBe(201);
    }
  });

  it.each([
    'api', 'i', 'avatar', 'metrics', 'healthz', 'readyz', 'static', 'assets', 'ui', 'app', 'account', 'login', 'logout', 'signup',
    'admin', 'www', 'API', 'Admin',
  ])('answers 422 for the reserved name %j', async (username) => {
    expectError(await api(base, 'POST', '/api/v1/users', { body: { username, password: 'long enough pw' } }), 422);
    expect(await countRows(server.dataDir, 'users', username.toLowerCase())).toBe(0);
  });

  it('answers 422 for a password under 8 characters, and accepts one of exactly 8', async () => {
    for (const password of ['', 'a', 'seven77']) {
      expectError(await api(base, 'POST', '/api/v1/users', { body: { username: 'shortpw', password } }), 422);
    }
    expect(await countRows(server.dataDir, 'users', 'shortpw')).toBe(0);
    expect((await api(base, 'POST', '/api/v1/users', { body: { username: 'shortpw', password: 'eight888' } })).status).toBe(201);
  });

  it('answers 413 for a JSON body far over any sensible size', async () => {
    const res = await api(base, 'POST', '/api/v1/users', { body: { username: 'huge', password: 'x'.repeat(100_000) } });
    expectError(res, 413, 'too_large');
    expect(await countRows(server.dataDir, 'users', 'huge')).toBe(0);
  });

  it('answers 400 for a body that is not JSON or lacks a field', async () => {
    expectError(await api(base, 'POST', '/api/v1/users', { body: '{not json' }), 400);
    expectError(await api(base, 'POST', '/api/v1/users', { body: { username: 'nofield' } }), 400);
    expectError(await api(base, 'POST', '/api/v1/users', { body: { username: 42, password: 'long enough pw' } }), 400);
    expect(await countRows(server.dataDir, 'users', 'nofield')).toBe(0);
  });
});

describe('tokens', () => {
  let token: string;
  beforeAll(async () => {
    token = await register(base, 'tokenuser', 'the right password');
  });

  it('POST /api/v1/tokens answers 201 {token} for the right password, in any letter case of the name', async () => {
    for (const username of ['tokenuser', 'TokenUser']) {
      const res = await api(base, 'POST', '/api/v1/tokens', { body: { username, password: 'the right password' } });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body)).toEqual(['token']);
      expect((await api(base, 'GET', '/api/v1/users/tokenuser/pictures', { token: res.body.token })).status).toBe(200);
    }
  });

  it('POST /api/v1/tokens answers 401 for a wrong password or an unknown user', async () => {
    expectError(await api(base, 'POST', '/api/v1/tokens', { body: { username: 'tokenuser', password: 'the wrong password' } }), 401, 'unauthorized');
    expectError(await api(base, 'POST', '/api/v1/tokens', { body: { username: 'no-such-user', password: 'whatever pw' } }), 401, 'unauthorized');
  });

  it('DELETE /api/v1/tokens/current answers 204 and that token stops working; others go on', async () => {
    const second = (await api(base, 'POST', '/api/v1/tokens', { body: { username: 'tokenuser', password: 'the right password' } })).body.token;
    const res = await api(base, 'DELETE', '/api/v1/tokens/current', { token: second });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expectError(await api(base, 'GET', '/api/v1/users/tokenuser/pictures', { token: second }), 401, 'unauthorized');
    expectError(await api(base, 'DELETE', '/api/v1/tokens/current', { token: second }), 401, 'unauthorized');
    expect((await api(base, 'GET', '/api/v1/users/tokenuser/pictures', { token })).status).toBe(200);
  });
});

describe('GET /api/v1/users/{username}', () => {
  it('is public: {username, active: null, url} for a user without a picture', async () => {
    await register(base, 'Public-User');
    const res = await api(base, 'GET', '/api/v1/users/public-user');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['active', 'url', 'username']);
    expect(res.body).toMatchObject({ username: 'public-user', active: null });
    expect(res.body.url).toMatch(/\/public-user$/);
    // The name folds here too.
    expect((await api(base, 'GET', '/api/v1/users/PUBLIC-USER')).body.username).toBe('public-user');
  });

  it('shows the active Picture, whose url serves it', async () => {
    const token = await register(base, 'shown');
    const picture = await uploadPicture('shown', token, await solid(GREEN), '?active=true');
    const res = await api(base, 'GET', '/api/v1/users/shown');
    expect(res.status).toBe(200);
    expectPicture(res.body.active);
    expect(res.body.active).toEqual({ ...picture, active: true });
    // The user's url is the public avatar.
    const avatar = await getImage(new URL(res.body.url, base).href);
    expect(avatar.status).toBe(200);
    expect(near(await pixelAt(avatar.bytes, 10, 10), GREEN)).toBe(true);
  });

  it('answers 404 for an unknown or impossible user', async () => {
    expectError(await api(base, 'GET', '/api/v1/users/no-such-user'), 404);
    expectError(await api(base, 'GET', '/api/v1/users/bad_name!'), 404);
  });
});

describe('pictures', () => {
  const user = 'pics';
  let token: string;
  let red: any;
  let blue: any;
  let green: any;

  beforeAll(async () => {
    token = await register(base, user);
    red = await uploadPicture(user, token, await solid(RED), '?label=first');
    blue = await uploadPicture(user, token, await solid(BLUE, 200), '?active=true');
    green = await uploadPicture(user, token, await solid(GREEN, 64));
  });

  it('POST answers 201 with a Picture of exactly the contract fields', async () => {
    for (const p of [red, blue, green]) expectPicture(p);
    expect(red).toMatchObject({ label: 'first', active: false, width: 120, height: 120 });
    expect(blue).toMatchObject({ label: '', active: true, width: 200, height: 200 });
    expect(green).toMatchObject({ active: false, width: 64 });
    expect(new Set([red.id, blue.id, green.id]).size).toBe(3);
  });

  it('describes the stored master (width, height, bytes), and its url serves a rendition of it', async () => {
    const hash = (await pictureRows(server.dataDir, user)).find((r) => r.id === blue.id)!.hash;
    const master = (await readMaster(server.dataDir, user, hash))!;
    expect(master.length).toBe(blue.bytes);
    const stored = await sharp(master).metadata();
    expect({ width: stored.width, height: stored.height }).toEqual({ width: blue.width, height: blue.height });
    const res = await getImage(`${base}${blue.url}`);
    expect(res.status).toBe(200);
    const meta = await sharp(res.bytes).metadata();
    expect({ width: meta.width, height: meta.height }).toEqual({ width: blue.width, height: blue.height });
    expect(near(await pixelAt(res.bytes, 100, 100), BLUE)).toBe(true);
  });

  it('GET lists them newest first', async () => {
    const res = await api(base, 'GET', `/api/v1/users/${user}/pictures`, { token });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['pictures']);
    res.body.pictures.forEach(expectPicture);
    expect(res.body.pictures.map((p: any) => p.id)).toEqual([green.id, blue.id, red.id]);
    expect(res.body.pictures.map((p: any) => p.active)).toEqual([false, true, false]);
    const times = res.body.pictures.map((p: any) => Date.parse(p.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('GET /pictures/{id} answers the Picture, and 404 picture_not_found for an unknown id', async () => {
    const res = await api(base, 'GET', `/api/v1/users/${user}/pictures/${red.id}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(red);
    for (const id of ['nope', '01890000-0000-7000-8000-000000000000', 'x'.repeat(300)]) {
      expectError(await api(base, 'GET', `/api/v1/users/${user}/pictures/${id}`, { token }), 404, 'picture_not_found');
    }
  });

  it('PATCH sets the label and answers the Picture', async () => {
    const res = await api(base, 'PATCH', `/api/v1/users/${user}/pictures/${green.id}`, { token, body: { label: 'Holiday 2024 ☀' } });
    expect(res.status).toBe(200);
    expectPicture(res.body);
    expect(res.body).toEqual({ ...green, label: 'Holiday 2024 ☀' });
    expect((await api(base, 'GET', `/api/v1/users/${user}/pictures/${green.id}`, { token })).body.label).toBe('Holiday 2024 ☀');
    // The active picture keeps being active when relabelled.
    const active = await api(base, 'PATCH', `/api/v1/users/${user}/pictures/${blue.id}`, { token, body: { label: 'main' } });
    expect(active.body).toMatchObject({ label: 'main', active: true });
  });

  it('PATCH refuses a bad body and an unknown picture', async () => {
    expectError(await api(base, 'PATCH', `/api/v1/users/${user}/pictures/${green.id}`, { token, body: { label: 5 } }), 400);
    expectError(await api(base, 'PATCH', `/api/v1/users/${user}/pictures/${green.id}`, { token, body: 'nope' }), 400);
    const tooLong = await api(base, 'PATCH', `/api/v1/users/${user}/pictures/${green.id}`, { token, body: { label: 'x'.repeat(10_000) } });
    expect([400, 413, 422]).toContain(tooLong.status);
    expectError(tooLong, tooLong.status);
    expectError(await api(base, 'PATCH', `/api/v1/users/${user}/pictures/01890000-0000-7000-8000-000000000000`, { token, body: { label: 'x' } }), 404, 'picture_not_found');
  });

  it('PUT /active makes a picture active: 200 Picture, and /{username} serves it', async () => {
    const res = await api(base, 'PUT', `/api/v1/users/${user}/active`, { token, body: { pictureId: red.id } });
    expect(res.status).toBe(200);
    expectPicture(res.body);
    expect(res.body).toMatchObject({ id: red.id, active: true });
    const avatar = await getImage(`${base}/${user}?s=32`);
    expect(near(await pixelAt(avatar.bytes, 16, 16), RED)).toBe(true);
    const list = (await api(base, 'GET', `/api/v1/users/${user}/pictures`, { token })).body.pictures;
    expect(list.filter((p: any) => p.active).map((p: any) => p.id)).toEqual([red.id]);
    expect((await api(base, 'GET', `/api/v1/users/${user}`)).body.active.id).toBe(red.id);
  });

  it('PUT /active answers 404 picture_not_found for an unknown id, and 400 for a bad body', async () => {
    for (const pictureId of ['nope', '01890000-0000-7000-8000-000000000000']) {
      expectError(await api(base, 'PUT', `/api/v1/users/${user}/active`, { token, body: { pictureId } }), 404, 'picture_not_found');
    }
    expectError(await api(base, 'PUT', `/api/v1/users/${user}/active`, { token, body: {} }), 400);
    // Nothing changed.
    expect((await api(base, 'GET', `/api/v1/users/${user}`)).body.active.id).toBe(red.id);
  });

  it('PUT /active cannot activate another user\'s picture', async () => {
    const otherToken = await register(base, 'pics-other');
    const theirs = await uploadPicture('pics-other', otherToken, await solid(GREEN));
    expectError(await api(base, 'PUT', `/api/v1/users/${user}/active`, { token, body: { pictureId: theirs.id } }), 404, 'picture_not_found');
    expectError(await api(base, 'GET', `/api/v1/users/${user}/pictures/${theirs.id}`, { token }), 404, 'picture_not_found');
  });

  it('DELETE /active answers 204; then the user has no active picture', async () => {
    const res = await api(base, 'DELETE', `/api/v1/users/${user}/active`, { token });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect((await getImage(`${base}/${user}?d=404`)).status).toBe(404);
    expect((await getImage(`${base}/${user}`)).status).toBe(404);
    expect((await api(base, 'GET', `/api/v1/users/${user}`)).body.active).toBeNull();
    // The pictures are all still there.
    expect((await api(base, 'GET', `/api/v1/users/${user}/pictures`, { token })).body.pictures).toHaveLength(3);
  });

  it('DELETE /pictures/{id} of an inactive picture answers 204 and removes it and its blobs', async () => {
    const hash = (await pictureRows(server.dataDir, user)).find((r) => r.id === green.id)!.hash;
    expect((await userBlobs(server.dataDir, user)).some((f) => f.startsWith(`${hash}/`))).toBe(true);
    const res = await api(base, 'DELETE', `/api/v1/users/${user}/pictures/${green.id}`, { token });
    expect(res.status).toBe(204);
    expectError(await api(base, 'GET', `/api/v1/users/${user}/pictures/${green.id}`, { token }), 404, 'picture_not_found');
    expect((await api(base, 'GET', `/api/v1/users/${user}/pictures`, { token })).body.pictures.map((p: any) => p.id)).toEqual([blue.id, red.id]);
    expect((await userBlobs(server.dataDir, user)).some((f) => f.startsWith(`${hash}/`))).toBe(false);
    expect((await getImage(`${base}${green.url}`)).status).toBe(404);
    // Again: it is gone.
    expectError(await api(base, 'DELETE', `/api/v1/users/${user}/pictures/${green.id}`, { token }), 404, 'picture_not_found');
  });

  it('DELETE /pictures/{id} of the active picture leaves the user with no active picture', async () => {
    expect((await api(base, 'PUT', `/api/v1/users/${user}/active`, { token, body: { pictureId: blue.id } })).status).toBe(200);
    expect((await getImage(`${base}/${user}`)).status).toBe(200);
    expect((await api(base, 'DELETE', `/api/v1/users/${user}/pictures/${blue.id}`, { token })).status).toBe(204);
    expect((await getImage(`${base}/${user}?d=404`)).status).toBe(404);
    const placeholder = await getImage(`${base}/${user}?s=24`);
    expect(placeholder.status).toBe(404);
    expect(placeholder.headers.get('content-type')).toMatch(/^image\//);
    expect((await api(base, 'GET', `/api/v1/users/${user}`)).body.active).toBeNull();
    expect((await api(base, 'GET', `/api/v1/users/${user}/pictures`, { token })).body.pictures.map((p: any) => p.id)).toEqual([red.id]);
  });

  it('uploads with ?active=true replace the active picture at once', async () => {
    const a = await uploadPicture(user, token, await webp(), '?active=true', 'image/webp');
    expect(a.active).toBe(true);
    const avatar = await getImage(`${base}/${user}?s=64`);
    expect(avatar.status).toBe(200);
    expect(near(await pixelAt(avatar.bytes, 32, 4), RED)).toBe(true);
    expect(near(await pixelAt(avatar.bytes, 32, 60), BLUE)).toBe(true);
    const listed = (await api(base, 'GET', `/api/v1/users/${user}/pictures`, { token })).body.pictures;
    expect(listed[0]).toEqual(a);
    expect(listed.filter((p: any) => p.active)).toHaveLength(1);
  });

  it('stores the same bytes uploaded twice as two pictures; deleting one keeps the other serving', async () => {
    const bytes = await opaquePng();
    const one = await uploadPicture(user, token, bytes);
    const two = await uploadPicture(user, token, bytes, '?active=true');
    expect(one.id).not.toBe(two.id);
    expect((await api(base, 'DELETE', `/api/v1/users/${user}/pictures/${one.id}`, { token })).status).toBe(204);
    const avatar = await getImage(`${base}/${user}?s=40`);
    expect(avatar.status).toBe(200);
    expect(near(await pixelAt(avatar.bytes, 20, 2), RED)).toBe(true);
    expect((await getImage(`${base}${two.url}`)).status).toBe(200);
  });
});

describe('DELETE /api/v1/users/{username}', () => {
  it('answers 204; the account, its pictures, tokens, rows, blobs and public URL are gone', async () => {
    const token = await register(base, 'Leaver');
    const second = (await api(base, 'POST', '/api/v1/tokens', { body: { username: 'leaver', password: 'correct horse battery' } })).body.token;
    const first = await uploadPicture('leaver', token, await phoneJpeg(400, 300), '?active=true', 'image/jpeg');
    await uploadPicture('leaver', token, await opaquePng());
    // Render a few renditions so that there is more than the masters to remove.
    for (const q of ['?s=32', '.png?s=48', '.webp']) expect((await getImage(`${base}/leaver${q}`)).status).toBe(200);
    expect((await userBlobs(server.dataDir, 'leaver')).length).toBeGreaterThanOrEqual(2);
    expect(await countRows(server.dataDir, 'pictures', 'leaver')).toBe(2);

    const res = await api(base, 'DELETE', '/api/v1/users/Leaver', { token });
    expect(res.status).toBe(204);

    expect((await getImage(`${base}/leaver?d=404`)).status).toBe(404);
    const placeholder = await getImage(`${base}/leaver`);
    expect(placeholder.status).toBe(404);
    expect(placeholder.headers.get('content-type')).toMatch(/^image\//);
    expect((await getImage(`${base}${first.url}`)).status).toBe(404);
    expectError(await api(base, 'GET', '/api/v1/users/leaver'), 404);
    for (const t of [token, second]) {
      expectError(await api(base, 'GET', '/api/v1/users/leaver/pictures', { token: t }), 401, 'unauthorized');
    }
    expectError(await api(base, 'POST', '/api/v1/tokens', { body: { username: 'leaver', password: 'correct horse battery' } }), 401);
    for (const table of ['users', 'pictures', 'tokens'] as const) expect(await countRows(server.dataDir, table, 'leaver'), table).toBe(0);
    expect(await userBlobs(server.dataDir, 'leaver')).toEqual([]);
  });

  it.each([
    ['the account', (t: string, _id: string) => api(base, 'DELETE', '/api/v1/users/racer', { token: t })],
    ['the picture', (t: string, id: string) => api(base, 'DELETE', `/api/v1/users/racer/pictures/${id}`, { token: t })],
  ])('a rendition still rendering when %s is deleted is neither served afterwards nor left on disk', async (_what, remove) => {
    const token = await register(base, 'racer');
    const picture = await uploadPicture('racer', token, await phoneJpeg(1600, 1200), '?active=true', 'image/jpeg');
    const hash = (await pictureRows(server.dataDir, 'racer'))[0]!.hash;
    // A large AVIF takes a while to encode: the delete lands while it renders.
    const slow = getImage(`${base}/racer.avif?s=2048`);
    await sleep(30);
    expect((await remove(token, picture.id)).status).toBe(204);
    await slow;
    expect((await getImage(`${base}/i/racer.${hash}.2048.avif`)).status).toBe(404);
    expect((await getImage(`${base}${picture.url}`)).status).toBe(404);
    // The background store of the rendition, if any, has settled by the time a fresh read is answered.
    expect((await getImage(`${base}/racer?d=404`)).status).toBe(404);
    expect(await userBlobs(server.dataDir, 'racer')).toEqual([]);
    await api(base, 'DELETE', '/api/v1/users/racer', { token });
  });

  it('frees the name: a new account of that name starts empty, and the old token stays dead', async () => {
    const old = await register(base, 'reborn');
    await uploadPicture('reborn', old, await solid(RED), '?active=true');
    expect((await api(base, 'DELETE', '/api/v1/users/reborn', { token: old })).status).toBe(204);
    const fresh = await register(base, 'reborn');
    expectError(await api(base, 'GET', '/api/v1/users/reborn/pictures', { token: old }), 401);
    const list = await api(base, 'GET', '/api/v1/users/reborn/pictures', { token: fresh });
    expect(list.body).toEqual({ pictures: [] });
    expect((await api(base, 'GET', '/api/v1/users/reborn')).body.active).toBeNull();
    expect((await getImage(`${base}/reborn?d=404`)).status).toBe(404);
  });
});
