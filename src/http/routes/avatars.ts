import type { Avatars, AvatarResult } from '../../domain/avatars.js';
import { parseAvatarQuery, pathUsername } from '../../domain/avatars.js';
import { notFound } from '../../domain/errors.js';
import { formatFromExtension } from '../../domain/keys.js';
import type { Rendition } from '../../cache/rendition-cache.js';
import type { ReadPathConfig } from '../../config/index.js';
import type { Reply } from '../reply.js';
import type { Ctx, RouteSpec } from '../router.js';

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

function imageReply(ctx: Ctx, status: number, rendition: Rendition, cacheControl: string, vary: boolean): Reply {
  const headers: Record<string, string> = {
    'Content-Type': rendition.contentType, ETag: rendition.etag, 'Cache-Control': cacheControl, ...EMBEDDABLE,
  };
  if (vary) headers.Vary = 'Accept';
  if (status === 200 && etagMatches(ctx.header('if-none-match'), rendition.etag)) return { status: 304, headers };
  return { status, headers, body: rendition.bytes };
}

export function avatarRoutes(avatars: Avatars, config: ReadPathConfig): RouteSpec[] {
  const cacheControl = `public, max-age=${config.maxAgeSeconds}, stale-while-revalidate=${config.staleWhileRevalidateSeconds}`;

  const toReply = (ctx: Ctx, result: AvatarResult): Reply =>
    result.kind === 'redirect'
      ? { status: 302, headers: { Location: result.location, 'Cache-Control': cacheControl, ...EMBEDDABLE } }
      : imageReply(ctx, result.status, result.rendition, cacheControl, result.negotiated);

  const avatar = (ctx: Ctx): Reply | Promise<Reply> => {
    const segment = safeDecode(ctx.params[0]!);
    const dot = segment.lastIndexOf('.');
    const ext = dot >= 0 ? segment.slice(dot + 1) : undefined;
    const format = ext === undefined ? undefined : formatFromExtension(ext);
    if (ext !== undefined && !format) throw notFound('not_found', 'No such page; avatars are /{username} or /{username}.{jpg,jpeg,png,webp,avif}.');
    const { size, fallback } = parseAvatarQuery(ctx.query, config);
    const username = pathUsername(dot >= 0 ? segment.slice(0, dot) : segment);
    const req = { username: username ?? '', size, format, accept: ctx.header('accept'), fallback };
    if (username) {
      const hit = avatars.tryCached(req);
      if (hit) return toReply(ctx, hit);
    }
    return (username ? avatars.resolve(req) : avatars.unknownUser(req)).then((result) => toReply(ctx, result));
  };

  const byKey = async (ctx: Ctx): Promise<Reply> =>
    imageReply(ctx, 200, await avatars.byKey(safeDecode(ctx.params[0]!), config.maxSize), IMMUTABLE, false);

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
