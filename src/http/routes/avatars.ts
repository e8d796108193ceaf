import { LRUCache } from 'lru-cache';
import type { Avatars, AvatarResult } from '../../domain/avatars.js';
import { parseAvatarQuery, pathUsername } from '../../domain/avatars.js';
import { fail } from '../../domain/errors.js';
import { formatFromExtension } from '../../domain/keys.js';
import type { Rendition } from '../../cache/rendition-cache.js';
import type { ReadPathConfig } from '../../config/index.js';
import { preparedHeaders, type Reply } from '../reply.js';
import type { Ctx } from '../context.js';
import type { RouteSpec } from '../router.js';

/** Headers every image response carries, so any site can embed it and no browser sniffs it. */
const EMBEDDABLE = {
  'X-Content-Type-Options': 'nosniff',
  'Access-Control-Allow-Origin': '*',
  'Cross-Origin-Resource-Policy': 'cross-origin',
} as const;

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** `If-None-Match` against a strong ETag (weak comparison, as RFC 9110 asks for GET). */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === '') return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return (t.startsWith('W/') ? t.slice(2) : t) === etag;
  });
}

/**
 * The replies for one rendition, built once and kept beside it: a cache hit then allocates no
 * headers and copies no bytes. Indexed by `vary` (negotiated from Accept or not).
 */
interface PreparedReplies {
  ok: Reply;
  notModified: Reply;
}

class ImageReplies {
  private readonly byRendition = [new WeakMap<Rendition, PreparedReplies>(), new WeakMap<Rendition, PreparedReplies>()];

  constructor(private readonly cacheControl: string) {}

  reply(ctx: Ctx, status: number, rendition: Rendition, vary: boolean): Reply {
    const table = this.byRendition[vary ? 1 : 0]!;
    let prepared = table.get(rendition);
    if (!prepared) {
      const headers = preparedHeaders([
        ['Content-Type', rendition.contentType], ['ETag', rendition.etag], ['Cache-Control', this.cacheControl],
        ...Object.entries(EMBEDDABLE), ...(vary ? [['Vary', 'Accept'] as const] : []),
      ]);
      prepared = { ok: { status: 200, prepared: headers, body: rendition.bytes }, notModified: { status: 304, prepared: headers } };
      table.set(rendition, prepared);
    }
    if (status !== 200) return { status, prepared: prepared.ok.prepared, body: rendition.bytes };
    return etagMatches(ctx.header('if-none-match'), rendition.etag) ? prepared.notModified : prepared.ok;
  }
}

export function avatarRoutes(avatars: Avatars, config: ReadPathConfig): RouteSpec[] {
  const cacheControl = `public, max-age=${config.maxAgeSeconds}, stale-while-revalidate=${config.staleWhileRevalidateSeconds}`;

  const images = new ImageReplies(cacheControl);
  const immutable = new ImageReplies(IMMUTABLE);
  // Query strings repeat (`s=80`, `s=128&d=identicon`), so their parse is memoised; only valid
  // ones are kept, as an invalid one throws before it is stored.
  const queries = new LRUCache<string, ReturnType<typeof parseAvatarQuery>>({ max: 1000 });
  const parseQuery = (ctx: Ctx) => {
    let parsed = queries.get(ctx.rawQuery);
    if (!parsed) queries.set(ctx.rawQuery, (parsed = parseAvatarQuery(ctx.query, config)));
    return parsed;
  };

  const toReply = (ctx: Ctx, result: AvatarResult): Reply =>
    result.kind === 'redirect'
      ? { status: 302, headers: { Location: result.location, 'Cache-Control': cacheControl, ...EMBEDDABLE } }
      : images.reply(ctx, result.status, result.rendition, result.negotiated);

  const avatar = (ctx: Ctx): Reply | Promise<Reply> => {
    const segment = safeDecode(ctx.params[0]!);
    const dot = segment.lastIndexOf('.');
    const ext = dot >= 0 ? segment.slice(dot + 1) : undefined;
    const format = ext === undefined ? undefined : formatFromExtension(ext);
    if (ext !== undefined && !format) throw fail('not_found', 'No such page; avatars are /{username} or /{username}.{jpg,jpeg,png,webp,avif}.');
    const { size, fallback } = parseQuery(ctx);
    const username = pathUsername(dot >= 0 ? segment.slice(0, dot) : segment);
    const req = { username: username ?? '', size, format, accept: ctx.header('accept'), fallback };
    if (username) {
      const hit = avatars.tryCached(req);
      if (hit) return toReply(ctx, hit);
    }
    return (username ? avatars.resolve(req) : avatars.unknownUser(req)).then((result) => toReply(ctx, result));
  };

  const byKey = (ctx: Ctx): Reply | Promise<Reply> => {
    const key = safeDecode(ctx.params[0]!);
    // Only renditions of keys the server made are cached, so a hit needs no parse of the key.
    const hit = avatars.tryKey(key);
    if (hit) return immutable.reply(ctx, 200, hit, false);
    return avatars.byKey(key, config.maxSize).then((rendition) => immutable.reply(ctx, 200, rendition, false));
  };

  return [
    { method: 'get', pattern: '/i/:key', handler: byKey },
    { method: 'head', pattern: '/i/:key', handler: byKey },
    { method: 'get', pattern: '/:name', handler: avatar },
    { method: 'head', pattern: '/:name', handler: avatar },
  ];
}

function safeDecode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
