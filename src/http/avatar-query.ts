import { LRUCache } from 'lru-cache';
import type { Fallback } from '../domain/avatars.js';
import { fail } from '../domain/errors.js';

/** What the query of `/{username}` asks for: `s` (or `size`) and `d`. */
interface AvatarQuery {
  size: number;
  fallback: Fallback;
}

type Placeholder = Extract<Fallback, { kind: 'generated' }>['placeholder'];
/** What the query parser needs of the read-path settings. */
export interface QuerySettings {
  defaultSize: number;
  maxSize: number;
  /** Hosts `d=<url>` may redirect to; empty means any http(s) host. */
  redirectHosts: readonly string[];
}

const DEFAULT_IMAGE_EXTENSIONS = /\.(jpe?g|png|gif|webp)$/i;
const PLACEHOLDERS: ReadonlySet<string> = new Set(['mp', 'identicon', 'initials', 'blank']);

/** Parses `s`/`size` and `d`; 400 with a stable code for anything out of range. */
export function parseAvatarQuery(query: URLSearchParams, config: QuerySettings): AvatarQuery {
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

function parseFallback(d: string | null, redirectHosts: readonly string[]): Fallback {
  if (d === null || d === '') return { kind: 'placeholder_404' };
  if (d === '404') return { kind: 'plain_404' };
  if (PLACEHOLDERS.has(d)) return { kind: 'generated', placeholder: d as Placeholder };
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

/**
 * parseAvatarQuery, memoised by the raw query string: query strings repeat (`s=80`,
 * `s=128&d=identicon`). Only valid ones are kept, as an invalid one throws before it is stored.
 */
export class AvatarQueries {
  private readonly parsed = new LRUCache<string, AvatarQuery>({ max: 1000 });

  constructor(private readonly config: QuerySettings) {}

  /** Reads `request.query` (built lazily by the router) only on a miss. */
  parse(request: { readonly rawQuery: string; readonly query: URLSearchParams }): AvatarQuery {
    let parsed = this.parsed.get(request.rawQuery);
    if (!parsed) this.parsed.set(request.rawQuery, (parsed = parseAvatarQuery(request.query, this.config)));
    return parsed;
  }
}
