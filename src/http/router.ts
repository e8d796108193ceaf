import type { HttpRequest, HttpResponse, TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { ClientAborted, readBody } from './body.js';
import { errorReply, json, type Reply, writeReply } from './reply.js';

/** Everything a handler may read: copied from uWS's request before any await (it dies after). */
export interface Ctx {
  method: string;
  url: string;
  query: URLSearchParams;
  params: string[];
  header(name: HeaderName): string;
  ip: string;
  requestId: string;
  /** The body, for routes declared with a body limit. */
  body: () => Promise<Buffer>;
}

const HEADERS = ['accept', 'authorization', 'content-type', 'content-length', 'if-none-match', 'x-forwarded-for', 'x-request-id'] as const;
export type HeaderName = (typeof HEADERS)[number];

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;
export type Method = 'get' | 'head' | 'post' | 'put' | 'patch' | 'del' | 'any';

export interface RouteSpec {
  method: Method;
  /** uWS pattern, e.g. `/api/v1/users/:username`. */
  pattern: string;
  handler: Handler;
  /** Read the body up to this many bytes (413 beyond); may depend on the Content-Type. */
  bodyLimit?: number | ((contentType: string) => number);
}

/** Counts requests in flight so shutdown can wait for them. */
export class InFlight {
  count = 0;
  private waiters: Array<() => void> = [];
  enter(): void { this.count += 1; }
  leave(): void {
    this.count -= 1;
    if (this.count === 0) for (const w of this.waiters.splice(0)) w();
  }
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

export interface RouterDeps {
  app: TemplatedApp;
  metrics: Metrics;
  log: Logger;
  inFlight: InFlight;
  trustProxy: boolean;
}

const METHOD_NAME: Record<Method, string> = { get: 'GET', head: 'HEAD', post: 'POST', put: 'PUT', patch: 'PATCH', del: 'DELETE', any: '*' };

// A client may send any method token; the metric label takes these or OTHER, so it stays bounded.
const METHOD_LABELS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The client's X-Request-Id when it is a sane token (so logs can join a proxy's), else a new one. */
export function requestIdFrom(header: string): string {
  return REQUEST_ID.test(header) ? header : randomUUID();
}

/** What the metrics and the access log need of one request, taken before the handler runs. */
interface Exchange {
  route: RouteSpec;
  method: string;
  requestId: string;
  url: string;
  rawQuery: string;
  started: bigint;
}

/** Registers routes on the uWS app, and a 405 with `Allow` for other methods on the same paths. */
export function registerRoutes(deps: RouterDeps, routes: RouteSpec[]): void {
  const allowed = new Map<string, string[]>();
  for (const route of routes) {
    deps.app[route.method](route.pattern, (res, req) => handle(deps, route, res, req));
    if (route.method === 'any') continue;
    allowed.set(route.pattern, [...(allowed.get(route.pattern) ?? []), METHOD_NAME[route.method]]);
  }
  for (const [pattern, methods] of allowed) {
    const spec: RouteSpec = {
      method: 'get', pattern, handler: () => json(405, { error: { code: 'method_not_allowed', message: `Use ${methods.join(', ')}.` } }, { Allow: methods.join(', ') }),
    };
    deps.app.any(pattern, (res, req) => handle(deps, spec, res, req));
  }
}

function handle(deps: RouterDeps, route: RouteSpec, res: HttpResponse, req: HttpRequest): void {
  const started = process.hrtime.bigint();
  const method = req.getCaseSensitiveMethod().toUpperCase();
  let aborted = false;
  const abortListeners: Array<() => void> = [];
  res.onAborted(() => {
    aborted = true;
    for (const fn of abortListeners) fn();
  });
  const headers = new Map<HeaderName, string>();
  for (const name of HEADERS) headers.set(name, req.getHeader(name));
  const params: string[] = [];
  for (let i = 0, n = countParams(route.pattern); i < n; i++) params.push(req.getParameter(i) ?? '');
  const rawQuery = req.getQuery() ?? '';
  const url = req.getUrl();
  const forwarded = deps.trustProxy ? headers.get('x-forwarded-for')!.split(',')[0]!.trim() : '';
  const bodyPromise = route.bodyLimit === undefined ? undefined
    : readBody(res, headers.get('content-length')!,
      typeof route.bodyLimit === 'number' ? route.bodyLimit : route.bodyLimit(headers.get('content-type')!),
      (fn) => abortListeners.push(fn));
  bodyPromise?.catch(() => undefined); // handled where awaited; never an unhandled rejection
  const ctx: Ctx = {
    method, url, params,
    query: new URLSearchParams(rawQuery),
    header: (name) => headers.get(name)!,
    ip: forwarded || Buffer.from(res.getRemoteAddressAsText()).toString(),
    requestId: requestIdFrom(headers.get('x-request-id')!),
    body: () => bodyPromise ?? Promise.reject(new Error(`route ${route.pattern} reads no body`)),
  };
  const head = method === 'HEAD';
  const exchange: Exchange = { route, method, requestId: ctx.requestId, url, rawQuery, started };
  deps.inFlight.enter();
  deps.metrics.httpInFlight.inc();

  const finish = (handlerReply: Reply, corked: boolean): void => {
    if (aborted) return done(deps, exchange, 499, 0);
    // A copy: handlers may answer with shared Reply objects, and every response names its request.
    const reply: Reply = { ...handlerReply, headers: { ...handlerReply.headers, 'X-Request-Id': ctx.requestId } };
    if (bodyPromise && reply.status >= 400) reply.close = true; // the unread rest of the body must not be parsed as a request
    const bytes = bodyBytes(reply, head);
    let pending: Promise<void> | undefined;
    const write = () => { pending = writeReply(res, reply, head, () => aborted); };
    if (corked) write(); else res.cork(write);
    // A body cut short by the client is not counted: uWS does not say how much of it went out.
    if (pending) {
      // uWS calls no onWritable after an abort, so the abort itself must end the wait, or the
      // request would stay in flight forever and hold up a graceful shutdown.
      const abortedWhileWriting = new Promise<void>((resolve) => abortListeners.push(resolve));
      void Promise.race([pending, abortedWhileWriting]).then(() => done(deps, exchange, reply.status, aborted ? 0 : bytes));
    }
    else done(deps, exchange, reply.status, bytes);
  };

  let result: Reply | Promise<Reply>;
  try {
    result = route.handler(ctx);
  } catch (err) {
    result = Promise.reject(err);
  }
  if (!(result instanceof Promise)) return finish(result, true);
  result.then(
    (reply) => finish(reply, false),
    (err: unknown) => {
      if (err instanceof ClientAborted || aborted) return finish({ status: 499 }, false);
      finish(toErrorReply(deps, ctx, err), false);
    },
  );
}

function toErrorReply(deps: RouterDeps, ctx: Ctx, err: unknown): Reply {
  if (err instanceof AppError) {
    deps.metrics.errors.inc({ code: err.code, status: String(err.status) });
    if (err.status >= 500) deps.log.warn({ requestId: ctx.requestId, method: ctx.method, code: err.code, err: err.cause ?? err }, err.message);
    return errorReply(err);
  }
  deps.metrics.errors.inc({ code: 'internal', status: '500' });
  deps.log.error({ requestId: ctx.requestId, method: ctx.method, url: ctx.url, err }, 'unhandled error');
  return json(500, { error: { code: 'internal', message: 'Something went wrong on our side; it has been logged.' } });
}

/** Bytes of body the reply puts on the wire: none for HEAD, 204 and 304 (see writeReply). */
function bodyBytes(reply: Reply, head: boolean): number {
  if (head || reply.status === 204 || reply.status === 304 || reply.body === undefined) return 0;
  return typeof reply.body === 'string' ? Buffer.byteLength(reply.body) : reply.body.length;
}

function done(deps: RouterDeps, x: Exchange, status: number, bytes: number): void {
  deps.inFlight.leave();
  const seconds = Number(process.hrtime.bigint() - x.started) / 1e9;
  const route = x.route.pattern;
  const method = METHOD_LABELS.has(x.method) ? x.method : 'OTHER';
  deps.metrics.httpInFlight.dec();
  deps.metrics.httpRequests.inc({ route, method, status: String(status) });
  deps.metrics.httpDuration.observe({ route, method }, seconds);
  if (bytes > 0) deps.metrics.httpResponseBytes.inc({ route }, bytes);
  // The access log: no headers at all (so never Authorization), no bodies (so never a password).
  if (deps.log.isLevelEnabled('debug')) {
    deps.log.debug({
      requestId: x.requestId, method: x.method, route, url: x.rawQuery ? `${x.url}?${x.rawQuery}` : x.url,
      status, durationMs: Math.round(seconds * 1e6) / 1e3, bytes,
    }, 'request');
  }
}

const paramCounts = new Map<string, number>();
function countParams(pattern: string): number {
  let n = paramCounts.get(pattern);
  if (n === undefined) paramCounts.set(pattern, (n = pattern.split('/').filter((s) => s.startsWith(':')).length));
  return n;
}
