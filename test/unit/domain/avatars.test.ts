import { describe, expect, it, vi } from 'vitest';
import type { BlobInfo, BlobStore } from '../../../src/blobs/port.js';
import { type AvatarRequest, Avatars } from '../../../src/domain/avatars.js';
import { masterKey, publicKey, renditionBlobKey } from '../../../src/domain/keys.js';
import type { ActiveLookups, RenditionLookups } from '../../../src/domain/read-caches.js';
import { type Rendition, toRendition } from '../../../src/domain/rendition.js';
import type { ActiveLookup, PictureRecord } from '../../../src/metadata/port.js';
import { fail } from '../../../src/domain/errors.js';

// The read path against fakes of its ports: what it answers from memory, what it loads, and
// that a cache hit is a value (not a promise) reached without any store, blob or imaging call.

const HASH = '0123456789abcdef0123456789abcdef';
const picture = (hasAlpha = false): PictureRecord => ({
  username: 'ada', id: 'p1', label: '', hash: HASH, format: hasAlpha ? 'png' : 'jpeg', hasAlpha,
  width: 512, height: 512, bytes: 100, createdAt: new Date(0),
});

class FakeActive implements ActiveLookups {
  readonly entries = new Map<string, ActiveLookup>();
  readonly stored = new Map<string, ActiveLookup>();
  peeks = 0;
  loads = 0;
  peek(username: string) { this.peeks += 1; return this.entries.get(username); }
  async load(username: string) {
    this.loads += 1;
    const value = this.stored.get(username) ?? { kind: 'no_user' as const };
    this.entries.set(username, value);
    return value;
  }
  forget(username: string) { this.entries.delete(username); }
}

class FakeRenditions implements RenditionLookups {
  readonly entries = new Map<string, Rendition>();
  peek(key: string) { return this.entries.get(key); }
  async load(key: string, loader: () => Promise<Rendition>) {
    const value = this.entries.get(key) ?? (await loader());
    this.entries.set(key, value);
    return value;
  }
  forgetPrefix(prefix: string) { for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k); }
}

function setup() {
  const active = new FakeActive();
  const renditions = new FakeRenditions();
  const blobMap = new Map<string, Buffer>();
  const blobs = {
    get: vi.fn(async (key: string) => blobMap.get(key) ?? null),
    head: vi.fn(async (key: string): Promise<BlobInfo | null> =>
      blobMap.has(key) ? { key, size: blobMap.get(key)!.length, modifiedAt: new Date(0) } : null),
    put: vi.fn(async (key: string, bytes: Uint8Array) => { blobMap.set(key, Buffer.from(bytes)); }),
    delete: vi.fn(async (key: string) => { blobMap.delete(key); }),
  } as unknown as BlobStore & Record<'get' | 'head' | 'put' | 'delete', ReturnType<typeof vi.fn>>;
  const imaging = {
    processUpload: vi.fn(),
    render: vi.fn(async (_m: Uint8Array, size: number, format: string) => Buffer.from(`render ${size} ${format}`)),
    placeholder: vi.fn(async (kind: string, seed: string, size: number, format: string) => Buffer.from(`${kind} ${seed} ${size} ${format}`)),
  };
  const avatars = new Avatars(active, renditions, blobs, imaging as unknown as ConstructorParameters<typeof Avatars>[3], { maxSize: 2048, storedSizes: [32, 64, 128, 256, 512] }, renditions);
  const io = () => blobs.get.mock.calls.length + blobs.head.mock.calls.length + imaging.render.mock.calls.length
    + imaging.placeholder.mock.calls.length + active.loads;
  return { active, renditions, blobMap, blobs, imaging, avatars, io };
}

const request = (over: Partial<AvatarRequest> = {}): AvatarRequest => ({
  username: 'ada', size: 64, format: undefined, webp: false, fallback: { kind: 'placeholder_404' }, ...over,
});

describe('Avatars.resolve', () => {
  it('answers a cache hit with a value, not a promise, peeking once and touching no store', () => {
    const { active, renditions, avatars, io } = setup();
    active.entries.set('ada', { kind: 'active', uid: 'u', picture: picture() });
    const cached = toRendition(Buffer.from('jpeg bytes'), 'image/jpeg');
    renditions.entries.set(publicKey({ username: 'ada', hash: HASH, size: 64, format: 'jpeg' }), cached);
    const found = avatars.resolve(request());
    expect(found).not.toBeInstanceOf(Promise);
    expect(found).toEqual({ kind: 'picture', rendition: cached });
    expect(active.peeks).toBe(1);
    expect(io()).toBe(0);
  });

  it('on a miss, loads the pointer once, renders from the master, stores it, and the next request is a hit', async () => {
    const { active, blobMap, blobs, avatars } = setup();
    active.stored.set('ada', { kind: 'active', uid: 'u', picture: picture() });
    blobMap.set(masterKey('ada', HASH), Buffer.from('master'));
    const first = avatars.resolve(request({ webp: true }));
    expect(first).toBeInstanceOf(Promise);
    const found = await first;
    expect(found.kind === 'picture' && found.rendition.bytes.toString()).toBe('render 64 webp');
    expect(active.peeks).toBe(1);
    expect(active.loads).toBe(1);
    await vi.waitFor(() => expect(blobs.put).toHaveBeenCalledWith(renditionBlobKey('ada', HASH, 64, 'webp'), expect.anything(), 'image/webp'));
    expect(avatars.resolve(request({ webp: true }))).toEqual(found);
  });

  it('chooses the named format, else WebP when taken, else PNG for transparency, else JPEG', async () => {
    const { active, blobMap, avatars } = setup();
    blobMap.set(masterKey('ada', HASH), Buffer.from('master'));
    const formatOf = async (req: AvatarRequest, hasAlpha: boolean) => {
      active.entries.set('ada', { kind: 'active', uid: 'u', picture: picture(hasAlpha) });
      const found = await avatars.resolve(req);
      return found.kind === 'picture' ? found.rendition.contentType : found.kind;
    };
    expect(await formatOf(request({ format: 'avif', webp: true }), true)).toBe('image/avif');
    expect(await formatOf(request({ webp: true }), true)).toBe('image/webp');
    expect(await formatOf(request(), true)).toBe('image/png');
    expect(await formatOf(request(), false)).toBe('image/jpeg');
  });

  it('says what it found when there is no picture: none with the reason, a redirect, or a placeholder', async () => {
    const { active, avatars, imaging } = setup();
    active.stored.set('bob', { kind: 'no_active', uid: 'u' });
    expect(await avatars.resolve(request({ fallback: { kind: 'plain_404' } }))).toEqual({ kind: 'none', reason: 'user_not_found' });
    expect(await avatars.resolve(request({ username: 'bob', fallback: { kind: 'plain_404' } }))).toEqual({ kind: 'none', reason: 'no_active_picture' });
    expect(avatars.resolve(request({ username: undefined, fallback: { kind: 'plain_404' } }))).toEqual({ kind: 'none', reason: 'user_not_found' });
    expect(await avatars.resolve(request({ fallback: { kind: 'redirect', location: 'https://x.test/a.png' } })))
      .toEqual({ kind: 'redirect', location: 'https://x.test/a.png' });
    const identicon = await avatars.resolve(request({ fallback: { kind: 'generated', placeholder: 'identicon' } }));
    expect(identicon.kind === 'placeholder' && identicon.rendition.bytes.toString()).toBe('identicon ada 64 jpeg');
    const mp = await avatars.resolve(request({ username: undefined }));
    expect(mp.kind === 'placeholder' && mp.rendition.bytes.toString()).toBe('mp  64 jpeg');
    const blank = await avatars.resolve(request({ username: undefined, fallback: { kind: 'generated', placeholder: 'blank' } }));
    expect(blank.kind === 'placeholder' && blank.rendition.contentType).toBe('image/png');
    // A placeholder already made is a hit too: a value, with no imaging call.
    const calls = imaging.placeholder.mock.calls.length;
    expect(avatars.resolve(request({ username: undefined }))).toEqual(mp);
    expect(imaging.placeholder.mock.calls.length).toBe(calls);
  });

  it('serves a stale pointer whose master is gone as no picture, and forgets the pointer', async () => {
    const { active, avatars } = setup();
    active.entries.set('ada', { kind: 'active', uid: 'u', picture: picture() });
    expect(await avatars.resolve(request({ fallback: { kind: 'plain_404' } }))).toEqual({ kind: 'none', reason: 'no_active_picture' });
    expect(active.entries.has('ada')).toBe(false);
  });
});

describe('Avatars.byKey', () => {
  const key = publicKey({ username: 'ada', hash: HASH, size: 64, format: 'jpeg' });

  it('answers a cached key with the rendition itself, touching no store', () => {
    const { renditions, avatars, io } = setup();
    const cached = toRendition(Buffer.from('jpeg bytes'), 'image/jpeg');
    renditions.entries.set(key, cached);
    expect(avatars.byKey(key)).toBe(cached);
    expect(io()).toBe(0);
  });

  it('loads a valid key from its master, and names nothing for a bad key, a missing master or a placeholder key', async () => {
    const { renditions, blobMap, avatars } = setup();
    expect(avatars.byKey('not-a-key')).toBeUndefined();
    expect(avatars.byKey(`ada.${HASH}.4096.jpg`)).toBeUndefined();
    expect(await avatars.byKey(key)).toBeUndefined();
    renditions.entries.set('~mp..64.jpeg', toRendition(Buffer.from('mp'), 'image/jpeg'));
    expect(avatars.byKey('~mp..64.jpeg')).toBeUndefined();
    blobMap.set(masterKey('ada', HASH), Buffer.from('master'));
    const loaded = await avatars.byKey(key);
    expect(loaded?.bytes.toString()).toBe('render 64 jpeg');
  });
});

describe('the stored-size ladder', () => {
  it('stores a size on the ladder, and renders any other size into memory only', async () => {
    const { blobMap, blobs, avatars } = setup();
    blobMap.set(masterKey('ada', HASH), Buffer.from('master'));
    expect((await avatars.byKey(`ada.${HASH}.100.png`))?.bytes.toString()).toBe('render 100 png');
    expect((await avatars.byKey(`ada.${HASH}.128.png`))?.bytes.toString()).toBe('render 128 png');
    await vi.waitFor(() => expect(blobs.put).toHaveBeenCalledTimes(1));
    expect(blobs.put).toHaveBeenCalledWith(renditionBlobKey('ada', HASH, 128, 'png'), expect.anything(), 'image/png');
    expect([...blobMap.keys()].sort()).toEqual([masterKey('ada', HASH), renditionBlobKey('ada', HASH, 128, 'png')].sort());
  });

  it('when the render lane is full, serves the nearest stored size above as a substitute, else the master itself', async () => {
    const { blobMap, imaging, avatars } = setup();
    const jpegMaster = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
    blobMap.set(masterKey('ada', HASH), jpegMaster);
    imaging.render.mockImplementation(async () => { throw fail('busy'); });
    // Nothing stored yet: the master stands in, so a page shows the picture, not a broken image.
    const master = await avatars.byKey(`ada.${HASH}.100.png`);
    expect(master?.bytes.equals(jpegMaster)).toBe(true);
    expect(master?.contentType).toBe('image/jpeg');
    expect(master?.substitute).toBe(true);
    blobMap.set(renditionBlobKey('ada', HASH, 64, 'png'), Buffer.from('stored 64'));
    blobMap.set(renditionBlobKey('ada', HASH, 256, 'png'), Buffer.from('stored 256'));
    const stand = await avatars.byKey(`ada.${HASH}.100.png`);
    expect(stand?.bytes.toString()).toBe('stored 256');
    expect(stand?.substitute).toBe(true);
  });
});
