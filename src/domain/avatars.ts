import type { BlobStore } from '../blobs/port.js';
import { AppError } from './errors.js';
import type { ActiveLookup } from '../metadata/port.js';
import type { Imaging, PlaceholderKind } from './imaging.js';
import {
  FORMAT_CONTENT_TYPE, masterKey, parsePublicKey, PLACEHOLDER_KEY_PREFIX, placeholderKey, publicKey, renditionBlobKey,
  renditionKey, type RenditionFormat, type RenditionRef,
} from './keys.js';
import type { ActiveLookups, RenditionLookups } from './read-caches.js';
import { type Rendition, toRenditionOffLoop } from './rendition.js';

/** What `/{username}` asks for, parsed by the HTTP layer. */
export interface AvatarRequest {
  /** Folded; undefined when the path cannot name a user (answered like an unknown user, without a lookup). */
  username: string | undefined;
  size: number;
  /** The format the client named, or undefined to choose one. */
  format: RenditionFormat | undefined;
  /** When choosing: whether the client takes WebP. */
  webp: boolean;
  fallback: Fallback;
}

/** What to serve when there is no picture (Gravatar's `d`). */
export type Fallback =
  | { kind: 'placeholder_404' }
  | { kind: 'plain_404' }
  | { kind: 'generated'; placeholder: PlaceholderKind }
  | { kind: 'redirect'; location: string };

/** What the read path found for a request; the HTTP layer turns it into a status and headers. */
export type AvatarFound =
  | { kind: 'picture'; rendition: Rendition }
  | { kind: 'placeholder'; rendition: Rendition }
  | { kind: 'redirect'; location: string }
  | { kind: 'none'; reason: 'user_not_found' | 'no_active_picture' };

/** The read-path settings the use cases need (config's ReadPathConfig extends it). */
export interface AvatarSettings {
  /** Largest size served: a public key naming a larger one names nothing. */
  maxSize: number;
  /**
   * The ladder of sizes whose renditions are stored (per format asked for); every other size is
   * rendered from the master into memory only. Bounds the stored renditions of a picture to
   * `storedSizes.length` x 4 formats, whatever anonymous clients ask for.
   */
  storedSizes: readonly number[];
}

/**
 * The read path. `resolve` and `byKey` answer from memory when they can, returning the value
 * itself, not a promise: a cache hit costs no await, no I/O and no worker hop. Otherwise they
 * return a promise of the rest (store read, blob read, render on first request).
 */
export class Avatars {
  constructor(
    private readonly active: ActiveLookups,
    private readonly renditions: RenditionLookups,
    private readonly blobs: BlobStore,
    private readonly imaging: Imaging,
    private readonly settings: AvatarSettings,
    /** Generated placeholders, in a cache of their own: a flood of names cannot evict pictures. */
    private readonly placeholders: RenditionLookups,
  ) {
    this.ladder = [...new Set(settings.storedSizes)].sort((a, b) => a - b);
  }

  /** storedSizes, smallest first. */
  private readonly ladder: number[];

  resolve(req: AvatarRequest): AvatarFound | Promise<AvatarFound> {
    const { username } = req;
    if (username === undefined) return this.fallback(req, 'user_not_found');
    const lookup = this.active.peek(username);
    if (lookup?.kind === 'active') {
      const { hash, hasAlpha } = lookup.picture;
      const rendition = this.renditions.peek(renditionKey(username, hash, req.size, formatFor(req, hasAlpha)));
      if (rendition) return { kind: 'picture', rendition };
    }
    return this.resolveFromStores(req, username, lookup);
  }

  /** `/i/{key}`: one immutable rendition, or undefined when the key names none. */
  byKey(key: string): Rendition | undefined | Promise<Rendition | undefined> {
    // Only keys the server made are cached, so a hit needs no parse of the key; placeholder
    // keys (kept in their own cache) start with a prefix no public key has.
    if (!key.startsWith(PLACEHOLDER_KEY_PREFIX)) {
      const hit = this.renditions.peek(key);
      if (hit) return hit;
    }
    const ref = parsePublicKey(key, this.settings.maxSize);
    return ref && this.rendition(ref);
  }

  /** The rest of resolve, past what memory held: `peeked` is the active cache's answer, if it had one. */
  private async resolveFromStores(req: AvatarRequest, username: string, peeked: ActiveLookup | undefined): Promise<AvatarFound> {
    const lookup = peeked ?? (await this.active.load(username));
    if (lookup.kind === 'active') {
      const { hash, hasAlpha } = lookup.picture;
      const rendition = await this.rendition({ username, hash, size: req.size, format: formatFor(req, hasAlpha) });
      if (rendition) return { kind: 'picture', rendition };
      // The master vanished under a stale pointer (deleted on another node): serve as if no picture.
      this.active.forget(username);
    }
    return this.fallback(req, lookup.kind === 'no_user' ? 'user_not_found' : 'no_active_picture');
  }

  private fallback(req: AvatarRequest, reason: 'user_not_found' | 'no_active_picture'): AvatarFound | Promise<AvatarFound> {
    const { fallback } = req;
    switch (fallback.kind) {
      case 'plain_404':
        return { kind: 'none', reason };
      case 'redirect':
        return { kind: 'redirect', location: fallback.location };
      case 'placeholder_404':
      case 'generated': {
        const placeholder = fallback.kind === 'generated' ? fallback.placeholder : 'mp';
        const format = formatFor(req, placeholder === 'blank');
        // Only identicons and initials depend on the name; mp and blank are shared by everyone.
        const seed = placeholder === 'identicon' || placeholder === 'initials' ? (req.username ?? '') : '';
        const key = placeholderKey(placeholder, seed, req.size, format);
        const hit = this.placeholders.peek(key);
        if (hit) return { kind: 'placeholder', rendition: hit };
        return this.placeholders.load(key, async () =>
          toRenditionOffLoop(await this.imaging.placeholder(placeholder, seed, req.size, format), FORMAT_CONTENT_TYPE[format]))
          .then((rendition) => ({ kind: 'placeholder', rendition }));
      }
    }
  }

  /**
   * From memory, else the stored rendition, else rendered from the master (and stored when its
   * size is on the ladder). Undefined: no master. When the render lane is full, the nearest
   * stored size stands in (marked `substitute`), else the master itself; `busy` reaches the
   * client only if the master cannot be read either.
   */
  private async rendition(ref: RenditionRef): Promise<Rendition | undefined> {
    try {
      return await this.renditions.load(publicKey(ref), () => this.loadRendition(ref));
    } catch (err) {
      if (err instanceof MasterMissing) return undefined;
      if (err instanceof AppError && err.code === 'busy') {
        const stand = await this.nearestStored(ref).catch(() => undefined);
        if (stand) return { ...stand, substitute: true };
      }
      throw err;
    }
  }

  /** The stored rendition of the nearest ladder size at or above ref's (else below), in memory or in the blob store, without rendering. */
  private async nearestStored(ref: RenditionRef): Promise<Rendition | undefined> {
    const above = this.ladder.filter((s) => s > ref.size);
    const below = this.ladder.filter((s) => s < ref.size).reverse();
    const candidates = [...above, ...below];
    for (const size of candidates) {
      const hit = this.renditions.peek(publicKey({ ...ref, size }));
      if (hit) return hit;
    }
    if (!(await this.blobs.head(masterKey(ref.username, ref.hash)))) return undefined;
    for (const size of candidates) {
      const stored = await this.blobs.get(renditionBlobKey(ref.username, ref.hash, size, ref.format));
      if (stored) return toRenditionOffLoop(stored, FORMAT_CONTENT_TYPE[ref.format]);
    }
    // Nothing rendered yet: the master itself, which every picture has, so an overloaded node
    // still shows the picture (larger than asked; the page scales it) rather than a broken image.
    const master = await this.blobs.get(masterKey(ref.username, ref.hash));
    return master ? toRenditionOffLoop(master, masterContentType(master)) : undefined;
  }

  private async loadRendition(ref: RenditionRef): Promise<Rendition> {
    if (!this.ladder.includes(ref.size)) return this.renderUnstored(ref);
    const contentType = FORMAT_CONTENT_TYPE[ref.format];
    const blobKey = renditionBlobKey(ref.username, ref.hash, ref.size, ref.format);
    const mKey = masterKey(ref.username, ref.hash);
    // A stored rendition counts only while its master exists: a render that finished after its
    // picture was deleted may have stored one, and a deleted picture must not stay public.
    const [stored, masterInfo] = await Promise.all([this.blobs.get(blobKey), this.blobs.head(mKey)]);
    if (stored && masterInfo) return toRenditionOffLoop(stored, contentType);
    const master = masterInfo && (await this.blobs.get(mKey));
    if (!master) {
      if (stored) this.blobs.delete(blobKey).catch(() => undefined);
      throw new MasterMissing();
    }
    const bytes = await this.imaging.render(master, ref.size, ref.format);
    // Deleted while it rendered (forgetPrefix cannot cancel a load in flight): neither cache nor store it.
    if (!(await this.blobs.head(mKey))) throw new MasterMissing();
    // Storing it is an optimisation for the next node or restart; the reader need not wait.
    this.blobs.put(blobKey, bytes, contentType)
      .then(async () => {
        // A delete between the check above and this put would leave the rendition behind.
        if (!(await this.blobs.head(mKey))) await this.blobs.delete(blobKey);
      })
      .catch(() => undefined);
    return toRenditionOffLoop(bytes, contentType);
  }

  /** A size off the ladder: rendered from the master for the rendition cache only, never stored. */
  private async renderUnstored(ref: RenditionRef): Promise<Rendition> {
    const mKey = masterKey(ref.username, ref.hash);
    const master = await this.blobs.get(mKey);
    if (!master) throw new MasterMissing();
    const bytes = await this.imaging.render(master, ref.size, ref.format);
    if (!(await this.blobs.head(mKey))) throw new MasterMissing();
    return toRenditionOffLoop(bytes, FORMAT_CONTENT_TYPE[ref.format]);
  }
}

/** The format asked for; else WebP when the client takes it, else PNG for transparency, else JPEG. */
function formatFor(req: AvatarRequest, hasAlpha: boolean): RenditionFormat {
  return req.format ?? (req.webp ? 'webp' : hasAlpha ? 'png' : 'jpeg');
}

class MasterMissing extends Error {}

/** Masters are JPEG, or PNG when they have transparency (imaging's encode stage); PNG's signature tells which. */
function masterContentType(master: Buffer): string {
  return master[0] === 0x89 && master[1] === 0x50 ? FORMAT_CONTENT_TYPE.png : FORMAT_CONTENT_TYPE.jpeg;
}
