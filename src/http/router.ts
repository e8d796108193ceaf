import type { HttpRequest, HttpResponse, TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import type { Logger } from 'pino';
import { fail } from '../domain/errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { recordRequest, type TalliedRoute } from './access-log.js';
import { type Ctx, RequestCtx } from './context.js';
import { toErrorReply } from './error-reply.js';
import type { InFlight } from './in-flight.js';
import type { OverloadLog } from './overload-log.js';
import { type BodyReader, type BodyWatch, ClientAborted, readBody, refusedBody } from './read-body.js';
import type { BodyBudget, Release } from './upload-gate.js';
import { errorReply, type Reply, writeReply } from './reply.js';

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;
export type Method = 'get' | 'head' | 'post' | 'put' | 'patch' | 'del' | 'any';

export interface RouteSpec {
  method: Method;
  /** uWS pattern, e.g. `/api/v1/users/:username`. */
  pattern: string;
  handler: Handler;
  /** Read the body up to this many bytes (413 beyond); may depend on the Content-Type. */
  bodyLimit?: number | ((contentType: string) => number);
  /** Looks at the body as it arrives and may refuse it part-way; may depend on the Content-Type. */
  bodyWatch?: (contentType: string) => BodyWatch | undefined;
  /** The node's budget of body bytes in flight, reserved before the body is read (503 beyond). */
  bodyBudget?: BodyBudget;
}

export interface RouterDeps {
  app: TemplatedApp;
  metrics: Metrics;
  log: Logger;
  inFlight: InFlight;
  overload: OverloadLog;
  trustProxy: boolean;
}

const METHOD_NAME: Record<Method, string> = { get: 'GET', head: 'HEAD', post: 'POST', put: 'PUT', patch: 'PATCH', del: 'DELETE', any: '*' };

/** Registers routes on the uWS app, and a 405 with `Allow` for other methods on the same paths. */
export function registerRoutes(deps: RouterDeps, routes: RouteSpec[]): void {
  const allowed = new Map<string, string[]>();
  for (const route of routes) {
    const bound = bind(deps, route);
    deps.app[route.method](route.pattern, (res, req) => handle(deps, bound, res, req));
    if (route.method === 'any') continue;
    allowed.set(route.pattern, [...(allowed.get(route.pattern) ?? []), METHOD_NAME[route.method]]);
  }
  for (const [pattern, methods] of allowed) {
    const bound = bind(deps, {
      method: 'get', pattern, handler: () => errorReply(fail('method_not_allowed', methods), { Allow: methods.join(', ') }),
    });
    deps.app.any(pattern, (res, req) => handle(deps, bound, res, req));
  }
}

/** A route as registered: its spec, its parameter count and its metrics, worked out once. */
interface BoundRoute extends TalliedRoute {
  spec: RouteSpec;
  params: number;
}

function bind(deps: RouterDeps, spec: RouteSpec): BoundRoute {
  return { spec, pattern: spec.pattern, params: countParams(spec.pattern), tally: deps.metrics.http.route(spec.pattern) };
}

function handle(deps: RouterDeps, bound: BoundRoute, res: HttpResponse, req: HttpRequest): void {
  const route = bound.spec;
  const started = process.hrtime.bigint();
  const caseSensitive = req.getCaseSensitiveMethod();
  const method = caseSensitive === METHOD_NAME[route.method] ? caseSensitive : caseSensitive.toUpperCase();
  let aborted = false;
  let watching = false;
  let abortListeners: Array<() => void> | undefined;
  // uWS needs an abort handler only for a response that outlives this callback; a cache hit
  // answered right here skips it (and its native call).
  const watchAbort = (): void => {
    if (watching) return;
    watching = true;
    res.onAborted(() => {
      aborted = true;
      if (abortListeners) for (const fn of abortListeners) fn();
    });
  };
  const onAbort = (fn: () => void): void => { watchAbort(); (abortListeners ??= []).push(fn); };
  const args: string[] = [];
  for (let i = 0, n = bound.params; i < n; i++) args.push(req.getParameter(i) ?? '');
  const ctx = new RequestCtx(req, res, deps.trustProxy, method, req.getUrl(), req.getQuery() ?? '', args);
  let reader: BodyReader | undefined;
  let releaseBytes: Release | undefined;
  if (route.bodyLimit !== undefined) {
    const contentType = ctx.header('content-type');
    const contentLength = ctx.header('content-length');
    const limit = typeof route.bodyLimit === 'number' ? route.bodyLimit : route.bodyLimit(contentType);
    releaseBytes = route.bodyBudget?.reserve(bytesToReserve(contentLength, limit));
    if (route.bodyBudget && !releaseBytes) reader = refusedBody(res, fail('uploads_busy'));
    else reader = readBody(res, contentLength, limit, onAbort, route.bodyWatch?.(contentType));
    if (releaseBytes) onAbort(releaseBytes);
    const { body, start } = reader;
    body.catch(() => undefined); // handled where awaited; never an unhandled rejection
    ctx.body = () => { start(); return body; };
  }
  const head = method === 'HEAD';
  deps.inFlight.enter();

  const finish = (reply: Reply, corked: boolean): void => {
    releaseBytes?.();
    if (aborted) return done(deps, bound, ctx, started, 499, 0);
    // The answer is decided: whatever of the body is still unread flows past, unkept.
    reader?.discard();
    // The unread rest of a refused body must not be parsed as the next request.
    const close = reply.close === true || (reader !== undefined && reply.status >= 400);
    const bytes = bodyBytes(reply, head);
    let pending: Promise<void> | undefined;
    const write = () => { pending = writeReply(res, reply, { head, close, requestId: ctx.requestId, isAborted: () => aborted }); };
    if (corked) write(); else res.cork(write);
    // A body cut short by the client is not counted: uWS does not say how much of it went out.
    if (pending) {
      // uWS calls no onWritable after an abort, so the abort itself must end the wait, or the
      // request would stay in flight forever and hold up a graceful shutdown.
      const abortedWhileWriting = new Promise<void>((resolve) => onAbort(resolve));
      void Promise.race([pending, abortedWhileWriting]).then(() => done(deps, bound, ctx, started, reply.status, aborted ? 0 : bytes));
    }
    else done(deps, bound, ctx, started, reply.status, bytes);
  };

  let result: Reply | Promise<Reply>;
  try {
    result = route.handler(ctx);
  } catch (err) {
    result = Promise.reject(err);
  }
  if (!(result instanceof Promise)) return finish(result, true);
  watchAbort();
  ctx.detach();
  result.then(
    (reply) => finish(reply, false),
    (err: unknown) => {
      if (err instanceof ClientAborted || aborted) return finish({ status: 499 }, false);
      finish(toErrorReply(deps, ctx, err), false);
    },
  );
}

function done(deps: RouterDeps, bound: BoundRoute, ctx: Ctx, started: bigint, status: number, bytes: number): void {
  deps.inFlight.leave();
  recordRequest(deps.log, bound, ctx, started, status, bytes);
}

/** Bytes of body the reply puts on the wire: none for HEAD, 204 and 304 (see writeReply). */
function bodyBytes(reply: Reply, head: boolean): number {
  if (head || reply.status === 204 || reply.status === 304 || reply.body === undefined) return 0;
  return typeof reply.body === 'string' ? Buffer.byteLength(reply.body) : reply.body.length;
}

/** What a body may take before it is read: its Content-Length, or the limit when it has none (none when it is refused unread). */
function bytesToReserve(contentLength: string, limit: number): number {
  if (contentLength === '') return limit;
  return /^\d+$/.test(contentLength) && Number(contentLength) <= limit ? Number(contentLength) : 0;
}

function countParams(pattern: string): number {
  return pattern.split('/').filter((s) => s.startsWith(':')).length;
}
