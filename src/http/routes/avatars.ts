import type { AvatarFound, AvatarRequest, Avatars } from '../../domain/avatars.js';
import { fail } from '../../domain/errors.js';
import { formatFromExtension } from '../../domain/keys.js';
import { pathUsername } from '../../domain/names.js';
import type { Rendition } from '../../domain/rendition.js';
import { AvatarQueries, type QuerySettings } from '../avatar-query.js';
import { WebpNegotiation } from '../negotiate.js';
import { preparedHeaders, type Reply } from '../reply.js';
import type { Ctx } from '../context.js';
import type { HandlersOf, RouteDecls } from './route-decl.js';

/** Headers every image response carries, so any site can embed it and no browser sniffs it. */
const EMBEDDABLE = {
  'X-Content-Type-Options': 'nosniff',
  'Access-Control-Allow-Origin': '*',
  'Cross-Origin-Resource-Policy': 'cross-origin',
} as const;

const IMMUTABLE = 'public, max-age=31536000, immutable';
// A stand-in of another size (the render lane was full): shown now, kept by no cache.
const NO_STORE = 'no-store';

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

/**
 * `/{username}` and `/i/{key}`. The HTTP decisions live here: the format from the extension or
 * from Accept (and so `Vary: Accept`), the status of a placeholder, conditional requests. When
 * the domain answers from memory (a value, not a promise), so does the reply.
 */
/** The read path's HTTP settings: query limits and the Cache-Control of `/{username}`. */
export interface AvatarRouteSettings extends QuerySettings {
  maxAgeSeconds: number;
  staleWhileRevalidateSeconds: number;
}

export const AVATAR_ROUTES = {
  rendition: { method: 'get', pattern: '/i/:key', auth: 'none' },
  renditionHead: { method: 'head', pattern: '/i/:key', auth: 'none' },
  avatar: { method: 'get', pattern: '/:name', auth: 'none' },
  avatarHead: { method: 'head', pattern: '/:name', auth: 'none' },
} as const satisfies RouteDecls;

export function avatarHandlers(avatars: Avatars, config: AvatarRouteSettings): HandlersOf<typeof AVATAR_ROUTES> {
  const cacheControl = `public, max-age=${config.maxAgeSeconds}, stale-while-revalidate=${config.staleWhileRevalidateSeconds}`;

  const images = new ImageReplies(cacheControl);
  const immutable = new ImageReplies(IMMUTABLE);
  const substitutes = new ImageReplies(NO_STORE);
  const queries = new AvatarQueries(config);
  const negotiation = new WebpNegotiation();

  const toReply = (ctx: Ctx, req: AvatarRequest, found: AvatarFound): Reply => {
    // Negotiated from Accept (no extension): caches must key on Accept too.
    const vary = req.format === undefined;
    switch (found.kind) {
      case 'picture':
        return (found.rendition.substitute ? substitutes : images).reply(ctx, 200, found.rendition, vary);
      case 'placeholder':
        // The default placeholder stands in for a missing picture; one asked for by `d` is the answer.
        return images.reply(ctx, req.fallback.kind === 'generated' ? 200 : 404, found.rendition, vary);
      case 'redirect':
        return { status: 302, headers: { Location: found.location, 'Cache-Control': cacheControl, ...EMBEDDABLE } };
      case 'none':
        throw fail(found.reason);
    }
  };

  const avatar = (ctx: Ctx): Reply | Promise<Reply> => {
    const segment = safeDecode(ctx.params[0]!);
    const dot = segment.lastIndexOf('.');
    const ext = dot >= 0 ? segment.slice(dot + 1) : undefined;
    const format = ext === undefined ? undefined : formatFromExtension(ext);
    if (ext !== undefined && !format) throw fail('not_found', 'No such page; avatars are /{username} or /{username}.{jpg,jpeg,png,webp,avif}.');
    const { size, fallback } = queries.parse(ctx);
    const req: AvatarRequest = {
      username: pathUsername(dot >= 0 ? segment.slice(0, dot) : segment), size, format,
      webp: format === undefined && negotiation.accepts(ctx.header('accept')), fallback,
    };
    const found = avatars.resolve(req);
    return found instanceof Promise ? found.then((f) => toReply(ctx, req, f)) : toReply(ctx, req, found);
  };

  const keyReply = (ctx: Ctx, rendition: Rendition | undefined): Reply => {
    if (!rendition) throw fail('rendition_not_found');
    return (rendition.substitute ? substitutes : immutable).reply(ctx, 200, rendition, false);
  };

  const byKey = (ctx: Ctx): Reply | Promise<Reply> => {
    const found = avatars.byKey(safeDecode(ctx.params[0]!));
    return found instanceof Promise ? found.then((r) => keyReply(ctx, r)) : keyReply(ctx, found);
  };

  return { rendition: byKey, renditionHead: byKey, avatar, avatarHead: avatar };
}

function safeDecode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
