import type { Logger } from 'pino';
import type { RouteTally } from '../metrics/http-tally.js';
import type { Ctx } from './context.js';

// A client may send any method token; the metric label takes these or OTHER, so it stays bounded.
const METHOD_LABELS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** A registered route as the metrics and the access log name it. */
export interface TalliedRoute {
  /** The route's pattern: the metric label and the log's `route`, so both stay bounded. */
  readonly pattern: string;
  readonly tally: RouteTally;
}

/**
 * Counts a finished request in its route's tally and writes its access-log line. `bytes` is the
 * body sent, 0 for a reply cut short. Positional, as it runs for every request, cache hits too.
 */
export function recordRequest(log: Logger, route: TalliedRoute, ctx: Ctx, started: bigint, status: number, bytes: number): void {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  route.tally.record(METHOD_LABELS.has(ctx.method) ? ctx.method : 'OTHER', status, seconds, bytes);
  // The access log: no headers at all (so never Authorization), no bodies (so never a password).
  if (log.isLevelEnabled('debug')) {
    log.debug({
      requestId: ctx.requestId, method: ctx.method, route: route.pattern, url: ctx.rawQuery ? `${ctx.url}?${ctx.rawQuery}` : ctx.url,
      status, durationMs: Math.round(seconds * 1e6) / 1e3, bytes,
    }, 'request');
  }
}
