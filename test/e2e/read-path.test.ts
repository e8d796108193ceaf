import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLUE, GREEN, RED, meanDifference, near, opaquePng, phoneJpeg, pixelAt, pngWithAlpha, webp } from '../fixtures/images.js';
import { expectError, expectSquareImage } from '../support/assertions.js';
import { api, getImage, rawRequest, register, upload } from '../support/http.js';
import { metricValue } from '../support/metrics.js';
import { removeDataDir, type RunningServer, startServer } from '../support/server.js';

/**
 * The public read path, `/{username}[.ext]` and `/i/{key}`, as an `<img>` tag, a browser and a
 * CDN see it: status, bytes that decode to the asked size and format, and the caching and
 * embedding headers.
 */

let server: RunningServer;
let base: string;
/** `arpit` (registered as `Arpit`): an opaque phone photo, red top and blue bottom, active. */
let arpit: { token: string; picture: any };
/** `alpha`: a picture with transparency, active. */
let alphaPicture: any;

beforeAll(async () => {
  server = await startServer();
  base = server.base;
  const token = await register(base, 'Arpit');
  const res = await upload(base, 'arpit', token, await phoneJpeg(800, 600), '?active=true');
  expect(res.status).toBe(201);
  arpit = { token, picture: await res.json() };
  const alphaToken = await register(base, 'alpha');
  const res2 = await upload(base, 'alpha', alphaToken, await pngWithAlpha(), '?active=true', 'image/png');
  expect(res2.status).toBe(201);
  alphaPicture = await res2.json();
  await register(base, 'nopic');
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  await removeDataDir(server.dataDir);
});

const EMBED_HEADERS = {
  'x-content-type-options': 'nosniff',
  'access-control-allow-origin': '*',
  'cross-origin-resource-policy': 'cross-origin',
};

function expectEmbeddable(headers: Headers): void {
  for (const [name, value] of Object.entries(EMBED_HEADERS)) expect(headers.get(name), name).toBe(value);
}

describe('GET /{username}', () => {
  it('serves the active picture as a 256 x 256 JPEG by default, with every header of the contract', async () => {
    const { status, headers, bytes } = await getImage(`${base}/arpit`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('image/jpeg');
    expect(Number(headers.get('content-length'))).toBe(bytes.length);
    await expectSquareImage(bytes, 256, 'jpeg');
    const etag = headers.get('etag') ?? '';
    expect(etag).toMatch(/^"[^"]+"$/); // strong: no W/ prefix
    expect(headers.get('cache-control')).toMatch(/^public, max-age=60, stale-while-revalidate=\d+$/);
    expect(headers.get('vary') ?? '').toMatch(/\bAccept\b/i);
    expectEmbeddable(headers);
    // The picture itself: red above, blue below.
    expect(near(await pixelAt(bytes, 128, 20), RED)).toBe(true);
    expect(near(await pixelAt(bytes, 128, 235), BLUE)).toBe(true);
  });

  it('folds the name: /Arpit and /ARPIT serve arpit', async () => {
    const lower = await getImage(`${base}/arpit`);
    for (const name of ['Arpit', 'ARPIT']) {
      const res = await getImage(`${base}/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(lower.headers.get('etag'));
      expect(res.bytes.equals(lower.bytes)).toBe(true);
    }
  });

  it.each([1, 16, 64, 100, 512, 2048])('serves s=%i as exactly that many pixels a side', async (s) => {
    const { status, bytes } = await getImage(`${base}/arpit?s=${s}`);
    expect(status).toBe(200);
    await expectSquareImage(bytes, s, 'jpeg');
  });

  it('takes size= as an alias of s=', async () => {
    const { status, bytes } = await getImage(`${base}/arpit?size=48`);
    expect(status).toBe(200);
    await expectSquareImage(bytes, 48);
  });

  it.each(['0', '-1', '1.5', '2049', '99999', 'abc', '', '1e2', '0x10', ' 64', '64px'])('answers s=%j with 400 and a JSON error', async (s) => {
    const res = await api(base, 'GET', `/arpit?s=${encodeURIComponent(s)}`);
    expectError(res, 400, 'invalid_size');
  });

  it('answers a bad size= with 400 too', async () => {
    expectError(await api(base, 'GET', '/arpit?size=3000'), 400);
  });

  it.each([
    ['jpg', 'image/jpeg', 'jpeg'],
    ['jpeg', 'image/jpeg', 'jpeg'],
    ['png', 'image/png', 'png'],
    ['webp', 'image/webp', 'webp'],
    ['avif', 'image/avif', 'heif'],
  ])('serves /arpit.%s as %s whatever the Accept header says', async (ext, contentType, sharpFormat) => {
    const { status, headers, bytes } = await getImage(`${base}/arpit.${ext}?s=80`, { headers: { Accept: 'image/webp,image/png,*/*' } });
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe(contentType);
    expect(Number(headers.get('content-length'))).toBe(bytes.length);
    expect(headers.get('etag') ?? '').toMatch(/^"[^"]+"$/);
    expectEmbeddable(headers);
    await expectSquareImage(bytes, 80, sharpFormat);
    expect(near(await pixelAt(bytes, 40, 5), RED)).toBe(true);
  });

  it('gives each format its own ETag', async () => {
    const tags = new Set<string | null>();
    for (const ext of ['jpg', 'png', 'webp']) tags.add((await getImage(`${base}/arpit.${ext}`)).headers.get('etag'));
    expect(tags.size).toBe(3);
  });

  it('serves the extension in any letter case', async () => {
    const { status, headers } = await getImage(`${base}/Arpit.PNG?s=20`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('image/png');
  });
});

describe('format negotiation', () => {
  it.each([
    ['image/webp', 'image/webp'],
    ['image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', 'image/webp'],
    ['image/png,image/*;q=0.8', 'image/jpeg'],
    ['*/*', 'image/jpeg'],
    ['', 'image/jpeg'],
    ['image/webp;q=0, */*', 'image/jpeg'],
  ])('Accept %j -> %s for an opaque picture', async (accept, expected) => {
    const headers: Record<string, string> = accept ? { Accept: accept } : {};
    const res = await getImage(`${base}/arpit?s=32`, { headers });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(expected);
    expect(res.headers.get('vary') ?? '').toMatch(/\bAccept\b/i);
    await expectSquareImage(res.bytes, 32, expected.slice('image/'.length));
  });

  it('serves PNG for a picture with transparency when WebP is not accepted, keeping the transparency', async () => {
    const res = await getImage(`${base}/alpha?s=64`, { headers: { Accept: 'image/png,*/*' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const meta = await expectSquareImage(res.bytes, 64, 'png');
    expect(meta.hasAlpha).toBe(true);
    const { data, info } = await sharp(res.bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(data[(32 * info.width + 4) * 4 + 3]).toBeGreaterThan(200); // left: opaque green
    expect(data[(32 * info.width + 60) * 4 + 3]).toBeLessThan(30); // right: transparent
    expect(near(await pixelAt(res.bytes, 4, 32), GREEN)).toBe(true);
  });

  it('serves WebP for a transparent picture when the client accepts it', async () => {
    const res = await getImage(`${base}/alpha?s=64`, { headers: { Accept: 'image/webp,*/*' } });
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect((await expectSquareImage(res.bytes, 64, 'webp')).hasAlpha).toBe(true);
  });

  it('answers different bytes for different Accept headers, each with its own ETag', async () => {
    const jpeg = await getImage(`${base}/arpit`, { headers: { Accept: '*/*' } });
    const webpRes = await getImage(`${base}/arpit`, { headers: { Accept: 'image/webp' } });
    expect(jpeg.headers.get('etag')).not.toBe(webpRes.headers.get('etag'));
    // The same picture either way.
    const [a, b] = await Promise.all([sharp(jpeg.bytes).png().toBuffer(), sharp(webpRes.bytes).png().toBuffer()]);
    expect(await meanDifference(a, b)).toBeLessThan(8);
  });
});

describe('HEAD', () => {
  it('answers the headers of GET, with the same Content-Length and no body', async () => {
    for (const path of ['/arpit', '/arpit.png?s=90', '/nobody', '/nopic?d=identicon&s=40']) {
      const get = await rawRequest(base, { path });
      const head = await rawRequest(base, { method: 'HEAD', path });
      expect(head.status, path).toBe(get.status);
      expect(head.body.length).toBe(0);
      expect(Number(head.headers['content-length'])).toBe(get.body.length);
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
      expect(head.headers.etag).toBe(get.headers.etag);
      expect(head.headers['cache-control']).toBe(get.headers['cache-control']);
    }
  });
});

describe('conditional requests', () => {
  it('answers a matching If-None-Match with 304 and no body', async () => {
    const first = await getImage(`${base}/arpit?s=50`);
    const etag = first.headers.get('etag')!;
    const again = await rawRequest(base, { path: '/arpit?s=50', headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(again.headers.etag).toBe(etag);
    // One of several tags, and the weak form of the same tag, match too (RFC 9110 weak comparison).
    const list = await rawRequest(base, { path: '/arpit?s=50', headers: { 'If-None-Match': `"other", ${etag}` } });
    expect(list.status).toBe(304);
    const weak = await rawRequest(base, { path: '/arpit?s=50', headers: { 'If-None-Match': `W/${etag}` } });
    expect(weak.status).toBe(304);
  });

  it('answers a stale If-None-Match with 200 and the bytes', async () => {
    const res = await getImage(`${base}/arpit?s=50`, { headers: { 'If-None-Match': '"not-the-tag"' } });
    expect(res.status).toBe(200);
    await expectSquareImage(res.bytes, 50);
  });

  it('changes the ETag and the bytes when the active picture changes', async () => {
    const token = await register(base, 'changer');
    const first = await upload(base, 'changer', token, await opaquePng(), '?active=true', 'image/png');
    expect(first.status).toBe(201);
    const before = await getImage(`${base}/changer?s=64`);
    expect(near(await pixelAt(before.bytes, 32, 5), RED)).toBe(true);

    // A green picture, then made active.
    const green = await sharp({ create: { width: 100, height: 100, channels: 3, background: GREEN } }).png().toBuffer();
    const second = await upload(base, 'changer', token, green, '', 'image/png');
    const picture = (await second.json()) as { id: string };
    const put = await api(base, 'PUT', '/api/v1/users/changer/active', { token, body: { pictureId: picture.id } });
    expect(put.status).toBe(200);

    const after = await getImage(`${base}/changer?s=64`);
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    expect(near(await pixelAt(after.bytes, 32, 5), GREEN)).toBe(true);
    // The old ETag no longer gets a 304.
    const cond = await rawRequest(base, { path: '/changer?s=64', headers: { 'If-None-Match': before.headers.get('etag')! } });
    expect(cond.status).toBe(200);
  });
});

describe('no such user, or no active picture', () => {
  it.each(['nobody', 'nopic'])('/%s answers 404 with a placeholder image of the asked size', async (name) => {
    const res = await getImage(`${base}/${name}?s=40`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^image\//);
    expect(Number(res.headers.get('content-length'))).toBe(res.bytes.length);
    expectEmbeddable(res.headers);
    await expectSquareImage(res.bytes, 40);
    // The mystery person, as d=mp draws it.
    const mp = await getImage(`${base}/${name}?s=40&d=mp`);
    expect(mp.headers.get('content-type')).toBe(res.headers.get('content-type'));
    expect(await meanDifference(res.bytes, mp.bytes)).toBe(0);
  });

  it.each(['nobody', 'nopic'])('/%s?d=404 answers 404 without an image', async (name) => {
    const res = await getImage(`${base}/${name}?d=404`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type') ?? '').not.toMatch(/^image\//);
  });

  it.each(['mp', 'identicon', 'initials', 'blank'])('d=%s answers 200 with that generated image', async (d) => {
    for (const name of ['nobody', 'nopic']) {
      const res = await getImage(`${base}/${name}?d=${d}&s=72`);
      expect(res.status, `${name} d=${d}`).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^image\/(jpeg|png|webp)$/);
      expect(Number(res.headers.get('content-length'))).toBe(res.bytes.length);
      expect(res.headers.get('etag') ?? '').toMatch(/^"[^"]+"$/);
      expectEmbeddable(res.headers);
      await expectSquareImage(res.bytes, 72);
    }
  });

  it('honours the extension for a generated image', async () => {
    const res = await getImage(`${base}/nobody.png?d=identicon&s=30`);
    expect(res.headers.get('content-type')).toBe('image/png');
    await expectSquareImage(res.bytes, 30, 'png');
  });

  it('draws identicons from the name: two names, two pictures', async () => {
    const a = await getImage(`${base}/someone-a.png?d=identicon&s=64`);
    const b = await getImage(`${base}/someone-b.png?d=identicon&s=64`);
    expect(a.bytes.equals(b.bytes)).toBe(false);
  });

  it('serves the active picture, not the fallback, when there is one', async () => {
    const res = await getImage(`${base}/arpit?d=identicon&s=64`);
    expect(res.status).toBe(200);
    expect(near(await pixelAt(res.bytes, 32, 5), RED)).toBe(true);
    expect((await getImage(`${base}/arpit?d=404`)).status).toBe(200);
  });

  it.each([
    'https://example.com/a.png', 'http://example.com/a.jpg', 'https://example.com/x/y.jpeg', 'https://cdn.example.org/a.gif',
    'https://example.com/a.webp?v=2',
  ])('d=%s redirects there with 302', async (d) => {
    const res = await fetch(`${base}/nobody?d=${encodeURIComponent(d)}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(new URL(d).href);
  });

  it.each([
    'https://example.com/a.html', 'https://example.com/', 'javascript:alert(1)', 'ftp://example.com/a.png',
    'data:image/png;base64,AAAA', '//example.com/a.png', 'https://user:pw@example.com/a.png', 'file:///etc/passwd.png',
    'unknown-kind',
  ])('d=%s is refused with 400 (no open redirect)', async (d) => {
    const res = await api(base, 'GET', `/nobody?d=${encodeURIComponent(d)}`);
    expectError(res, 400);
    expect(res.headers.get('location')).toBeNull();
  });
});

describe('GET /i/{key}', () => {
  it('serves the url of a Picture as an immutable image', async () => {
    const res = await getImage(`${base}${arpit.picture.url}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toMatch(/^image\//);
    expect(Number(res.headers.get('content-length'))).toBe(res.bytes.length);
    expect(res.headers.get('etag') ?? '').toMatch(/^"[^"]+"$/);
    expectEmbeddable(res.headers);
    await expectSquareImage(res.bytes, arpit.picture.width);
    expect(near(await pixelAt(res.bytes, arpit.picture.width / 2, 5), RED)).toBe(true);
  });

  it('answers HEAD with the same length and a matching If-None-Match with 304', async () => {
    const get = await rawRequest(base, { path: alphaPicture.url });
    expect(get.status).toBe(200);
    const head = await rawRequest(base, { method: 'HEAD', path: alphaPicture.url });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(Number(head.headers['content-length'])).toBe(get.body.length);
    const cond = await rawRequest(base, { path: alphaPicture.url, headers: { 'If-None-Match': String(get.headers.etag) } });
    expect(cond.status).toBe(304);
    expect(cond.body.length).toBe(0);
  });

  it('keeps serving the url after the picture stops being active', async () => {
    const token = await register(base, 'keeper');
    const picture = (await (await upload(base, 'keeper', token, await webp(), '?active=true', 'image/webp')).json()) as { url: string };
    expect((await api(base, 'DELETE', '/api/v1/users/keeper/active', { token })).status).toBe(204);
    expect((await getImage(`${base}/keeper?d=404`)).status).toBe(404);
    expect((await getImage(`${base}${picture.url}`)).status).toBe(200);
  });

  it.each([
    '/i/nothing',
    '/i/arpit.00000000000000000000000000000000.64.jpg',
    '/i/nobody.00000000000000000000000000000000.64.jpg',
    '/i/arpit',
    '/i/..%2F..%2Fetc%2Fpasswd',
    '/i/%00',
    '/i/arpit.zz.64.jpg',
    '/i/a.b.c.d.e',
  ])('answers %s with 404', async (path) => {
    const res = await rawRequest(base, { path });
    expect(res.status).toBe(404);
    expect(res.headers['content-type'] ?? '').not.toMatch(/^image\//);
  });

  it('never serves a cached placeholder under /i/, though placeholders share the rendition cache', async () => {
    // Placeholders are cached under `~{kind}.{seed}.{size}.{format}`; make sure these are in memory.
    expect((await getImage(`${base}/nobody?d=blank&s=64`)).status).toBe(200);
    expect((await getImage(`${base}/nobody?d=identicon&s=64`)).status).toBe(200);
    for (const key of ['~blank..64.png', '~identicon.nobody.64.jpeg', '~identicon.nobody.64.webp', '%7Eblank..64.png']) {
      const res = await rawRequest(base, { path: `/i/${key}` });
      expect(res.status, key).toBe(404);
      expect(res.headers['content-type'] ?? '', key).not.toMatch(/^image\//);
    }
  });

  it('serves a second request for a url from memory with the same bytes and headers', async () => {
    // The rendition cache's own counters say where the second answer came from.
    const lookups = (result: string) => metricValue(base, 'onepic_cache_lookups_total', { cache: 'rendition', result });
    const first = await rawRequest(base, { path: alphaPicture.url });
    const [hits, misses] = [await lookups('hit'), await lookups('miss')];
    const second = await rawRequest(base, { path: alphaPicture.url });
    expect(await lookups('hit')).toBe(hits + 1);
    expect(await lookups('miss')).toBe(misses);
    expect(second.status).toBe(200);
    expect(second.body.equals(first.body)).toBe(true);
    for (const name of ['content-type', 'etag', 'cache-control', 'content-length']) expect(second.headers[name], name).toBe(first.headers[name]);
  });

  it('looks each cache up once per /{username} request, warm or not', async () => {
    const counts = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^onepic_cache_lookups_total\{cache="(\w+)",result="(\w+)"\} (\d+)$/gm)) out[`${m[1]} ${m[2]}`] = Number(m[3]);
      return out;
    };
    const delta = (after: Record<string, number>, before: Record<string, number>) =>
      Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]).filter(([, d]) => d !== 0));
    // A size nobody asked for yet: the pointer is in memory (warmed by the first request), the rendition is not.
    await rawRequest(base, { path: '/alpha.png?s=71' });
    let before = await counts();
    await rawRequest(base, { path: '/alpha.png?s=73' });
    expect(delta(await counts(), before)).toEqual({ 'active hit': 1, 'rendition miss': 1 });
    before = await counts();
    await rawRequest(base, { path: '/alpha.png?s=73' });
    expect(delta(await counts(), before)).toEqual({ 'active hit': 1, 'rendition hit': 1 });
  });

  it('answers 404 for a key of a real picture with a bad size or a non-canonical extension', async () => {
    const [, key] = /^\/i\/(.+)$/.exec(arpit.picture.url)!;
    const [user, hash] = key!.split('.');
    for (const bad of [`${user}.${hash}.0.jpg`, `${user}.${hash}.9999.jpg`, `${user}.${hash}.64.jpeg`, `${user}.${hash}.64.gif`, `${user}.${hash}.x.jpg`]) {
      expect((await rawRequest(base, { path: `/i/${bad}` })).status, bad).toBe(404);
    }
    // Another user's name with this hash names nothing either.
    expect((await rawRequest(base, { path: `/i/alpha.${hash}.64.jpg` })).status).toBe(404);
  });
});

describe('an operator\'s settings: redirect allow-list (ONEPIC_REDIRECT_HOSTS) and max-age (ONEPIC_CACHE_MAX_AGE)', () => {
  let narrow: RunningServer;
  beforeAll(async () => {
    narrow = await startServer({ env: { ONEPIC_REDIRECT_HOSTS: 'img.example.com,cdn.example.org', ONEPIC_CACHE_MAX_AGE: '300' } });
  });
  afterAll(async () => {
    expect(await narrow.stop()).toBe(0);
    await removeDataDir(narrow.dataDir);
  });

  it('redirects to a listed host', async () => {
    for (const d of ['https://img.example.com/a.png', 'https://cdn.example.org/b/c.jpg']) {
      const res = await fetch(`${narrow.base}/nobody?d=${encodeURIComponent(d)}`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(d);
    }
  });

  it('serves avatars with the configured max-age', async () => {
    const res = await getImage(`${narrow.base}/nobody?d=mp`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=300, stale-while-revalidate=\d+$/);
  });

  it('refuses any other host with 400', async () => {
    for (const d of ['https://example.com/a.png', 'https://evil.img.example.com.attacker.net/a.png', 'https://img.example.com.evil.net/a.png']) {
      expectError(await api(narrow.base, 'GET', `/nobody?d=${encodeURIComponent(d)}`), 400);
    }
  });
});
