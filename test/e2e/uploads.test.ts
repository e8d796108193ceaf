import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BLUE, RED, avif, garbageWithJpegMagic, gif, heicContainer, htmlDisguised, near, opaquePng, pdfDisguised, phoneJpeg, pixelAt,
  pixelBomb, pngWithAlpha, svgDisguised, tinyImage, truncatedJpeg, truncatedJpegWithEnd, webp,
} from '../fixtures/images.js';
import { expectError, expectPicture } from '../support/assertions.js';
import { ON_SERVICES } from '../support/backends.js';
import { api, getImage, multipart, rawRequest, register, upload } from '../support/http.js';
import { removeDataDir, type RunningServer, startServer } from '../support/server.js';
import { closeInspectors, pictureRows, readMaster, userBlobs } from '../support/inspect.js';
import { listFiles } from '../support/stores.js';

/**
 * Uploads as clients send them: every accepted type ends up served, correctly oriented and
 * stripped of metadata; every bad input is refused with the contract's status and code, and
 * leaves no row and no blob behind.
 */

let server: RunningServer;
let base: string;
let token: string;
const USER = 'uploader';

beforeAll(async () => {
  server = await startServer();
  base = server.base;
  token = await register(base, USER);
  // One accepted picture first, so "nothing changed" is checked against a non-empty state.
  expect((await upload(base, USER, token, await opaquePng(), '', 'image/png')).status).toBe(201);
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  await closeInspectors();
  await removeDataDir(server.dataDir);
});

/** The rows and blob files a rejected upload must not change (the temp dir included). */
async function snapshot(dataDir: string, username: string) {
  return {
    rows: await pictureRows(dataDir, username),
    blobs: await userBlobs(dataDir, username),
    // Temp files of puts in flight are the filesystem blob store's own; S3 has none to list.
    temp: ON_SERVICES ? [] : await listFiles(path.join(dataDir, 'blobs', '.tmp')),
  };
}

async function expectRejected(
  send: () => Promise<{ status: number; headers: Headers; body: any }>, status: number | number[], code?: string,
): Promise<void> {
  const before = await snapshot(server.dataDir, USER);
  const res = await send();
  const statuses = Array.isArray(status) ? status : [status];
  expect(statuses, JSON.stringify(res.body)).toContain(res.status);
  expectError(res, res.status, code);
  expect(await snapshot(server.dataDir, USER)).toEqual(before);
}

const post = (bytes: Buffer, contentType: string, query = '') => async () => {
  const res = await upload(base, USER, token, bytes, query, contentType);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
};

const postMultipart = (form: ReturnType<typeof multipart>) => () =>
  api(base, 'POST', `/api/v1/users/${USER}/pictures`, { token, body: form.body.toString('latin1'), headers: { 'Content-Type': form.contentType } });

describe('rejected uploads leave nothing behind', () => {
  it('undecodable bytes with JPEG magic: 422 undecodable_image', async () => {
    await expectRejected(post(garbageWithJpegMagic(), 'image/jpeg'), 422, 'undecodable_image');
  });

  it('a truncated JPEG: 422', async () => {
    await expectRejected(post(await truncatedJpeg(), 'image/jpeg'), 422, 'truncated_image');
  });

  it('a truncated JPEG with its end marker (FF D9) put back: 422, not a grey picture', async () => {
    await expectRejected(post(await truncatedJpegWithEnd(), 'image/jpeg'), 422, 'truncated_image');
  });

  it('a pixel bomb (64 megapixels in 200 KB): 422 too_many_pixels', async () => {
    await expectRejected(post(await pixelBomb(), 'image/png'), 422, 'too_many_pixels');
  });

  it('an 8 x 8 image: 422 too_small', async () => {
    await expectRejected(post(await tinyImage(8), 'image/png'), 422, 'too_small');
    await expectRejected(post(await tinyImage(15), 'image/png'), 422, 'too_small');
  });

  it.each([
    ['SVG', svgDisguised],
    ['HTML', htmlDisguised],
    ['PDF', pdfDisguised],
  ])('%s sent as image/png: 415 unsupported_type', async (_name, make) => {
    await expectRejected(post(make(), 'image/png'), 415, 'unsupported_type');
  });

  it('a HEIC this server cannot decode: refused, not stored', async () => {
    await expectRejected(post(await heicContainer(), 'image/heic'), [415, 422]);
  });

  it.each(['text/plain', 'application/json', 'text/html'])('a real PNG sent as %s: 415', async (type) => {
    await expectRejected(post(await opaquePng(), type), 415, 'unsupported_type');
  });

  it('an empty body: refused', async () => {
    await expectRejected(post(Buffer.alloc(0), 'image/png'), [400, 415, 422]);
  });

  it('multipart without a file field: 400 missing_file', async () => {
    const form = multipart([{ name: 'label', value: 'no file here' }, { name: 'picture', value: await opaquePng(), filename: 'a.png', contentType: 'image/png' }]);
    await expectRejected(postMultipart(form), 400, 'missing_file');
  });

  it('multipart whose file is an SVG named .png: 415', async () => {
    const form = multipart([{ name: 'file', value: svgDisguised(), filename: 'avatar.png', contentType: 'image/png' }]);
    await expectRejected(postMultipart(form), 415, 'unsupported_type');
  });

  it('a multipart body that does not parse: 400', async () => {
    await expectRejected(() => api(base, 'POST', `/api/v1/users/${USER}/pictures`, {
      token, body: 'this is not multipart', headers: { 'Content-Type': 'multipart/form-data; boundary=xyz' },
    }), 400);
  });

  it('a bad ?active value or label: 4xx', async () => {
    await expectRejected(post(await opaquePng(), 'image/png', '?active=maybe'), 400);
    await expectRejected(post(await opaquePng(), 'image/png', `?label=${encodeURIComponent('bad\u0001label')}`), [400, 422]);
    await expectRejected(post(await opaquePng(), 'image/png', `?label=${'x'.repeat(500)}`), [400, 422]);
  });

  it('an upload the client aborts half-way', async () => {
    const before = await snapshot(server.dataDir, USER);
    const bytes = await phoneJpeg(1600, 1200);
    await new Promise<void>((resolve) => {
      const url = new URL(base);
      const req = http.request({
        host: url.hostname, port: url.port, method: 'POST', path: `/api/v1/users/${USER}/pictures`, agent: false,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg', 'Content-Length': bytes.length },
      });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => req.destroy(), 50));
    });
    // The server is fine and nothing was stored.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await snapshot(server.dataDir, USER)).toEqual(before);
  });
});

describe('accepted uploads', () => {
  it.each([
    ['JPEG', () => phoneJpeg(320, 240), 'image/jpeg'],
    ['PNG', () => opaquePng(), 'image/png'],
    ['WebP', () => webp(), 'image/webp'],
    ['AVIF', () => avif(), 'image/avif'],
  ])('%s: 201 Picture, served red above and blue below', async (_name, make, type) => {
    const res = await upload(base, USER, token, await make(), '?active=true', type);
    const picture = (await res.json()) as any;
    expect(res.status, JSON.stringify(picture)).toBe(201);
    expectPicture(picture);
    expect(picture.active).toBe(true);
    expect((await pictureRows(server.dataDir, USER)).map((r) => r.id)).toContain(picture.id);
    const served = await getImage(`${base}/${USER}.png?s=64`);
    expect(served.status).toBe(200);
    expect(near(await pixelAt(served.bytes, 32, 4), RED)).toBe(true);
    expect(near(await pixelAt(served.bytes, 32, 60), BLUE)).toBe(true);
  });

  it('GIF: the first frame is used', async () => {
    const res = await upload(base, USER, token, await gif(64, 64, 3), '?active=true', 'image/gif');
    expect(res.status).toBe(201);
    const served = await getImage(`${base}/${USER}.png?s=32`);
    expect(near(await pixelAt(served.bytes, 16, 16), RED)).toBe(true);
  });

  it('a transparent PNG stays transparent', async () => {
    const res = await upload(base, USER, token, await pngWithAlpha(), '?active=true', 'image/png');
    expect(res.status).toBe(201);
    const served = await getImage(`${base}/${USER}?s=32`);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect((await sharp(served.bytes).metadata()).hasAlpha).toBe(true);
  });

  it('decides the type from the bytes, not the header: a WebP sent as image/jpeg is stored', async () => {
    const res = await upload(base, USER, token, await webp(), '', 'image/jpeg');
    expect(res.status).toBe(201);
    const picture = (await res.json()) as any;
    expect((await getImage(`${base}${picture.url}`)).status).toBe(200);
  });

  it('crops to a centred square, down to the master size', async () => {
    const res = await upload(base, USER, token, await phoneJpeg(3000, 1000), '', 'image/jpeg');
    const picture = (await res.json()) as any;
    expect(res.status).toBe(201);
    expect(picture.width).toBe(picture.height);
    expect(picture.width).toBeLessThanOrEqual(1000);
    const served = await getImage(`${base}${picture.url}`);
    const meta = await sharp(served.bytes).metadata();
    expect({ w: meta.width, h: meta.height }).toEqual({ w: picture.width, h: picture.width });
  });

  it('multipart/form-data with a file field: 201, with the label field', async () => {
    const form = multipart([
      { name: 'label', value: 'from a form' },
      { name: 'file', value: await webp(), filename: 'me.webp', contentType: 'image/webp' },
    ]);
    const res = await fetch(`${base}/api/v1/users/${USER}/pictures?active=true`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': form.contentType }, body: form.body,
    });
    const picture = (await res.json()) as any;
    expect(res.status, JSON.stringify(picture)).toBe(201);
    expectPicture(picture);
    expect(picture).toMatchObject({ label: 'from a form', active: true });
    const served = await getImage(`${base}/${USER}.png?s=64`);
    expect(near(await pixelAt(served.bytes, 32, 4), RED)).toBe(true);
  });

  it('a multipart form the browser way (FormData, file name, any declared type)', async () => {
    const form = new FormData();
    form.append('file', new Blob([await opaquePng()], { type: 'application/octet-stream' }), 'avatar.bin');
    const res = await fetch(`${base}/api/v1/users/${USER}/pictures`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
    expect(res.status).toBe(201);
  });

  it('a chunked body without Content-Length: 201', async () => {
    const bytes = await phoneJpeg(400, 300);
    const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, 5000), bytes.subarray(5000)];
    const res = await rawRequest(base, {
      method: 'POST', path: `/api/v1/users/${USER}/pictures`, chunked: true, body: chunks,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/jpeg' },
    });
    expect(res.status, res.body.toString()).toBe(201);
    expectPicture(JSON.parse(res.body.toString()));
  });
});

describe('phone photos: EXIF orientation applied, metadata dropped', () => {
  it.each([1, 3, 6, 8])('orientation %i is displayed upright: red above, blue below', async (orientation) => {
    const res = await upload(base, USER, token, await phoneJpeg(1600, 1200, orientation), '?active=true');
    const picture = (await res.json()) as any;
    expect(res.status).toBe(201);
    expect(picture.width).toBe(picture.height);
    for (const url of [`${base}/${USER}.png?s=100`, `${base}/${USER}.jpg?s=100`, `${base}${picture.url}`]) {
      const served = await getImage(url);
      const meta = await sharp(served.bytes).metadata();
      const side = meta.width!;
      expect(near(await pixelAt(served.bytes, side >> 1, Math.floor(side * 0.1)), RED), `${url} top`).toBe(true);
      expect(near(await pixelAt(served.bytes, side >> 1, Math.floor(side * 0.9)), BLUE), `${url} bottom`).toBe(true);
    }
  });

  it('a portrait photo stored sideways (orientation 6) is cropped as the portrait it is', async () => {
    const res = await upload(base, USER, token, await phoneJpeg(600, 900, 6), '?active=true');
    const picture = (await res.json()) as any;
    expect(picture.width).toBe(600);
    const served = await getImage(`${base}/${USER}.png?s=60`);
    expect(near(await pixelAt(served.bytes, 30, 3), RED)).toBe(true);
    expect(near(await pixelAt(served.bytes, 30, 57), BLUE)).toBe(true);
  });

  it('serves no EXIF, GPS, XMP or ICC metadata, in any format, nor stores any', async () => {
    const res = await upload(base, USER, token, await phoneJpeg(1600, 1200, 6), '?active=true');
    const picture = (await res.json()) as any;
    const urls = ['', '.jpg', '.png', '.webp', '.avif'].map((ext) => `${base}/${USER}${ext}?s=128`);
    urls.push(`${base}${picture.url}`);
    for (const url of urls) {
      const served = await getImage(url);
      expect(served.status).toBe(200);
      const meta = await sharp(served.bytes).metadata();
      expect({ url, exif: meta.exif, icc: meta.icc, xmp: meta.xmp, iptc: meta.iptc }).toEqual({ url, exif: undefined, icc: undefined, xmp: undefined, iptc: undefined });
      expect(meta.orientation ?? 1).toBe(1);
      for (const marker of ['OnePhone', 'Exif', 'GPS']) expect(served.bytes.includes(Buffer.from(marker)), `${url} ${marker}`).toBe(false);
    }
    // The stored master too.
    const hash = (await pictureRows(server.dataDir, USER)).find((r) => r.id === picture.id)!.hash;
    const master = await sharp((await readMaster(server.dataDir, USER, hash))!).metadata();
    expect({ exif: master.exif, icc: master.icc, xmp: master.xmp }).toEqual({ exif: undefined, icc: undefined, xmp: undefined });
  });
});

describe('the size limit (ONEPIC_MAX_UPLOAD_BYTES=200000)', () => {
  let small: RunningServer;
  let smallToken: string;
  const LIMIT = 200_000;

  beforeAll(async () => {
    small = await startServer({ env: { ONEPIC_MAX_UPLOAD_BYTES: String(LIMIT) } });
    smallToken = await register(small.base, 'limited');
  });
  afterAll(async () => {
    expect(await small.stop()).toBe(0);
    await removeDataDir(small.dataDir);
  });

  /** Well over the limit: JPEG magic followed by junk (the limit is checked before the type). */
  const oversize = () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(LIMIT + 100_000, 7)]);

  async function expectNothingStored(): Promise<void> {
    expect(await pictureRows(small.dataDir, 'limited')).toEqual([]);
    expect(await userBlobs(small.dataDir, 'limited')).toEqual([]);
    // Temp files of puts in flight are the filesystem blob store's own; S3 has none to list.
    if (!ON_SERVICES) expect(await listFiles(path.join(small.dataDir, 'blobs', '.tmp'))).toEqual([]);
  }

  it('a body with Content-Length over the limit: 413 too_large', async () => {
    const res = await rawRequest(small.base, {
      method: 'POST', path: '/api/v1/users/limited/pictures', body: oversize(),
      headers: { Authorization: `Bearer ${smallToken}`, 'Content-Type': 'image/jpeg', 'Content-Length': oversize().length },
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.toString()).error.code).toBe('too_large');
    await expectNothingStored();
  });

  it('the same through fetch', async () => {
    const res = await upload(small.base, 'limited', smallToken, oversize());
    expectError({ status: res.status, headers: res.headers, body: await res.json() }, 413, 'too_large');
    await expectNothingStored();
  });

  it('a chunked body without Content-Length that grows over the limit: 413 too_large', async () => {
    const chunk = Buffer.alloc(32 * 1024, 9);
    const chunks = [Buffer.from([0xff, 0xd8, 0xff, 0xe0]), ...Array.from({ length: 10 }, () => chunk)];
    const res = await rawRequest(small.base, {
      method: 'POST', path: '/api/v1/users/limited/pictures', chunked: true, body: chunks,
      headers: { Authorization: `Bearer ${smallToken}`, 'Content-Type': 'image/jpeg' },
    });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.toString()).error.code).toBe('too_large');
    await expectNothingStored();
  });

  it('a multipart file over the limit: 413', async () => {
    const form = multipart([{ name: 'file', value: oversize(), filename: 'big.jpg', contentType: 'image/jpeg' }]);
    const res = await fetch(`${small.base}/api/v1/users/limited/pictures`, {
      method: 'POST', headers: { Authorization: `Bearer ${smallToken}`, 'Content-Type': form.contentType }, body: form.body,
    });
    expect(res.status).toBe(413);
    await expectNothingStored();
  });

  it('still accepts an upload under the limit, and keeps serving after refusals', async () => {
    const bytes = await phoneJpeg(400, 300);
    expect(bytes.length).toBeLessThan(LIMIT);
    const res = await upload(small.base, 'limited', smallToken, bytes, '?active=true');
    expect(res.status).toBe(201);
    expect((await getImage(`${small.base}/limited`)).status).toBe(200);
  });
});

describe('a full imaging queue (ONEPIC_WORKERS=1, ONEPIC_WORKER_QUEUE=1)', () => {
  let busy: RunningServer;
  let busyToken: string;

  beforeAll(async () => {
    // Eight uploads of one account at once: the account's own limit must not answer before the queue does.
    busy = await startServer({ env: { ONEPIC_WORKERS: '1', ONEPIC_WORKER_QUEUE: '1', ONEPIC_UPLOADS_PER_ACCOUNT: '16' } });
    busyToken = await register(busy.base, 'crowded');
  });
  afterAll(async () => {
    expect(await busy.stop()).toBe(0);
    await removeDataDir(busy.dataDir);
  });

  it('answers the overflow quickly with 503 busy and Retry-After, stores exactly the accepted ones, and recovers', async () => {
    const photos = await Promise.all(Array.from({ length: 8 }, (_, i) => phoneJpeg(1600 + i * 16, 1200)));
    const results = await Promise.all(photos.map(async (bytes) => {
      const res = await upload(busy.base, 'crowded', busyToken, bytes);
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    }));
    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    expect(created.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expectError(r, 503, 'busy');
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    expect((await pictureRows(busy.dataDir, 'crowded')).map((r) => r.id).sort()).toEqual(created.map((r) => r.body.id).sort());
    // Identical masters share one blob; there is no blob that no row names.
    const hashes = new Set((await pictureRows(busy.dataDir, 'crowded')).map((r) => r.hash));
    expect(new Set((await userBlobs(busy.dataDir, 'crowded')).map((f) => f.split('/')[0]))).toEqual(hashes);
    // Once the crowd has passed, uploads go through again.
    expect((await upload(busy.base, 'crowded', busyToken, await phoneJpeg(320, 240), '?active=true')).status).toBe(201);
    expect((await getImage(`${busy.base}/crowded`)).status).toBe(200);
  });
});
