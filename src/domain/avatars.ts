import Negotiator from 'negotiator';
import { LRUCache } from 'lru-cache';
import type { BlobStore } from '../blobs/port.js';
import type { ActiveCache } from '../cache/active-cache.js';
import { type Rendition, type RenditionCache, toRendition } from '../cache/rendition-cache.js';
import type { ReadPathConfig } from '../config/index.js';
import type { ActiveLookup } from '../metadata/port.js';
import { fail } from './errors.js';
import type { Imaging, PlaceholderKind } from './imaging.js';
import {
  FORMAT_CONTENT_TYPE, masterKey, parsePublicKey, publicKey, renditionBlobKey, type RenditionFormat, type RenditionRef,
} from './keys.js';
import { foldUsername, isWellFormedUsername } from './names.js';

/** What `/{username}` was asked for, parsed and validated (see parseAvatarQuery). */
export interface AvatarRequest {
  username: string;
  size: number;
  /** From the extension; undefined means negotiate from Accept. */
  format: RenditionFormat | undefined;
  accept: string;
  fallback: Fallback;
}

export type Fallback =
  | { kind: 'placeholder_404' }
  | { kind: 'plain_404' }
  | { kind: 'generated'; placeholder: PlaceholderKind }
  | { kind: 'redirect'; location: string };

export type AvatarResult =
  | { kind: 'image'; status: 200 | 404; rendition: Rendition; negotiated: boolean }
  | { kind: 'redirect'; location: string };

const DEFAULT_IMAGE_EXTENSIONS = /\.(jpe?g|png|gif|webp)$/i;
const PLACEHOLDERS: ReadonlySet<string> = new Set(['mp', 'identicon', 'initials', 'blank']);

/** Parses `s`/`size` and `d`; 400 with a stable code for anything out of range. */
export function parseAvatarQuery(query: URLSearchParams, config: ReadPathConfig): { size: number; fallback: Fallback } {
  const sizeText = query.get('s') ?? query.get('size');
  let size = config.defaultSize;
  if (sizeText !== null) {
    size = /^[0-9]{1,5}$/.test(sizeText) ? Number(sizeText) : NaN;
    if (!(size >= 1 && size <= config.maxSize)) {
      throw fail('invalid_size', config.maxSize, sizeText);
    }
  }
  return { size, fallback: parseFallback(query.get('d'), config.redirectHosts) };
}

function parseFallback(d: string | null, redirectHosts: string[]): Fallback {
  if (d === null || d === '') return { kind: 'placeholder_404' };
  if (d === '404') return { kind: 'plain_404' };
  if (PLACEHOLDERS.has(d)) return { kind: 'generated', placeholder: d as PlaceholderKind };
  let url: URL | undefined;
  try { url = new URL(d); } catch { url = undefined; }
  const ok = url && (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password
    && DEFAULT_IMAGE_EXTENSIONS.test(url.pathname)
    && (redirectHosts.length === 0 || redirectHosts.includes(url.hostname.toLowerCase()));
  if (!ok || !url) {
    throw fail('invalid_default', redirectHosts);
  }
  return { kind: 'redirect', location: url.href };
}

/** Folds and checks a path's username; undefined if it cannot be one (served like an unknown user). */
export function pathUsername(raw: string): string | undefined {
  const username = foldUsername(raw);
  return isWellFormedUsername(username) ? username : undefined;
}

/**
 * The read path. `tryCached` answers from memory only, never awaiting, so a cache hit costs no
 * I/O and no worker hop; `resolve` does the rest (store read, blob read, render on first request).
 */
export class Avatars {
  // Accept headers repeat (a handful of browser strings), so negotiation is memoised.
  private readonly webpByAccept = new LRUCache<string, boolean>({ max: 1000 });

  constructor(
    private readonly active: ActiveCache,
    private readonly renditions: RenditionCache,
    private readonly blobs: BlobStore,
    private readonly imaging: Imaging,
  ) {}

  tryCached(req: AvatarRequest): AvatarResult | undefined {
    const lookup = this.active.peek(req.username);
    if (lookup?.kind !== 'active') return undefined;
    const format = req.format ?? this.negotiate(req.accept, lookup.picture.hasAlpha);
    const key = publicKey({ username: req.username, hash: lookup.picture.hash, size: req.size, format });
    const rendition = this.renditions.peek(key);
    return rendition && { kind: 'image', status: 200, rendition, negotiated: req.format === undefined };
  }

  async resolve(req: AvatarRequest): Promise<AvatarResult> {
    const lookup: ActiveLookup = this.active.peek(req.username) ?? (await this.active.load(req.username));
    if (lookup.kind === 'active') {
      const format = req.format ?? this.negotiate(req.accept, lookup.picture.hasAlpha);
      const ref = { username: req.username, hash: lookup.picture.hash, size: req.size, format };
      const rendition = await this.rendition(ref);
      if (rendition) return { kind: 'image', status: 200, rendition, negotiated: req.format === undefined };
      // The master vanished under a stale pointer (deleted on another node): serve as if no picture.
      this.active.forget(req.username);
    }
    return this.fallback(req, lookup.kind === 'no_user' ? 'user_not_found' : 'no_active_picture');
  }

  /** A name that cannot be a user: answered like an unknown user, without a lookup. */
  unknownUser(req: AvatarRequest): Promise<AvatarResult> {
    return this.fallback(req, 'user_not_found');
  }

  /** `/i/{key}` from memory only, never awaiting; undefined means ask `byKey`. */
  tryKey(key: string): Rendition | undefined {
    // The rendition cache also holds placeholders under `~...` keys, which /i/ never serves.
    return key.startsWith('~') ? undefined : this.renditions.peek(key);
  }

  /** `/i/{key}`: one immutable rendition, or 404. */
  async byKey(key: string, maxSize: number): Promise<Rendition> {
    const ref = parsePublicKey(key, maxSize);
    const rendition = ref && (this.renditions.peek(key) ?? (await this.rendition(ref)));
    if (!rendition) throw fail('rendition_not_found');
    return rendition;
  }

  private async fallback(req: AvatarRequest, code: 'user_not_found' | 'no_active_picture'): Promise<AvatarResult> {
    const { fallback } = req;
    switch (fallback.kind) {
      case 'plain_404':
        throw fail(code);
      case 'redirect':
        return { kind: 'redirect', location: fallback.location };
      case 'placeholder_404':
      case 'generated': {
        const placeholder = fallback.kind === 'generated' ? fallback.placeholder : 'mp';
        const format = req.format ?? this.negotiate(req.accept, placeholder === 'blank');
        // Only identicons and initials depend on the name; mp and blank are shared by everyone.
        const seed = placeholder === 'identicon' || placeholder === 'initials' ? req.username : '';
        const rendition = await this.renditions.load(`~${placeholder}.${seed}.${req.size}.${format}`, async () =>
          toRendition(await this.imaging.placeholder(placeholder, seed, req.size, format), FORMAT_CONTENT_TYPE[format]));
        return { kind: 'image', status: fallback.kind === 'generated' ? 200 : 404, rendition, negotiated: req.format === undefined };
      }
    }
  }

  /** From memory, else the stored rendition, else rendered from the master (and stored). Null: no master. */
  private async rendition(ref: RenditionRef): Promise<Rendition | null> {
    const key = publicKey(ref);
    try {
      return await this.renditions.load(key, () => this.loadRendition(ref));
    } catch (err) {
      if (err instanceof MasterMissing) return null;
      throw err;
    }
  }

  private async loadRendition(ref: RenditionRef): Promise<Rendition> {
    const contentType = FORMAT_CONTENT_TYPE[ref.format];
    const blobKey = renditionBlobKey(ref.username, ref.hash, ref.size, ref.format);
    const mKey = masterKey(ref.username, ref.hash);
    // A stored rendition counts only while its master exists: a render that finished after its
    // picture was deleted may have stored one, and a deleted picture must not stay public.
    const [stored, masterInfo] = await Promise.all([this.blobs.get(blobKey), this.blobs.head(mKey)]);
    if (stored && masterInfo) return toRendition(stored, contentType);
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
    return toRendition(bytes, contentType);
  }

  /** WebP when the client names it, else PNG for pictures with transparency, else JPEG. */
  private negotiate(accept: string, hasAlpha: boolean): RenditionFormat {
    let webp = this.webpByAccept.get(accept);
    if (webp === undefined) {
      webp = /image\/webp/i.test(accept) && new Negotiator({ headers: { accept } }).mediaTypes(['image/webp']).length > 0;
      this.webpByAccept.set(accept, webp);
    }
    return webp ? 'webp' : hasAlpha ? 'png' : 'jpeg';
  }
}

class MasterMissing extends Error {}
