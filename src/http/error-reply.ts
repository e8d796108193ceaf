import type { Logger } from 'pino';
import { AppError, fail } from '../domain/errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Ctx } from './context.js';
import type { OverloadLog } from './overload-log.js';
import { errorReply, type Reply } from './reply.js';

/**
 * The one place a thrown error becomes a response: an AppError answers its own status, code and
 * message; anything else is a generic 500 whose stack goes to the log, never to the client. Both
 * are counted by code, and server-side failures are logged with the request's id. A 503 is an
 * expected overload condition (each carries Retry-After): logged without stack, once an interval.
 */
export function toErrorReply(deps: { metrics: Metrics; log: Logger; overload: OverloadLog }, ctx: Ctx, err: unknown): Reply {
  if (err instanceof AppError) {
    deps.metrics.errors.inc({ code: err.code, status: String(err.status) });
    if (err.status === 503) {
      const cause = err.cause instanceof Error ? err.cause.message : undefined;
      deps.overload.warn(err.code, { requestId: ctx.requestId, method: ctx.method, cause }, err.message);
    } else if (err.status >= 500) {
      deps.log.warn({ requestId: ctx.requestId, method: ctx.method, code: err.code, err: err.cause ?? err }, err.message);
    }
    return errorReply(err);
  }
  deps.metrics.errors.inc({ code: 'internal', status: '500' });
  deps.log.error({ requestId: ctx.requestId, method: ctx.method, url: ctx.url, err }, 'unhandled error');
  return errorReply(fail('internal'));
}
