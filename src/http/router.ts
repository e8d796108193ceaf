import type { HttpRequest, HttpResponse, TemplatedApp } from '@trufflesuite/uws-js-unofficial';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError, fail } from '../domain/errors.js';
import type { RouteTally } from '../metrics/http-tally.js';
import type { Metrics } from '../metrics/metrics.js';
import { ClientAborted, readBody } from './body.js';
import { errorReply, json, type Reply, writeReply } from './reply.js';

/**
 * Everything a handler may read. Valid across awaits: what uWS's request holds is copied out
 * before the handler's first await (uWS frees it when the callback returns).
 */
export interface Ctx {
  readonly method: string;
  readonly url: string;
  /** The query string as sent, without the `?`. */
  readonly rawQuery: string;
  readonly query: URLSearchParams;
  readonly params: string[];
  header(name: HeaderName): string;
  readonly ip: string;
  readonly requestId: string;
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

/** Registers routes on the uWS app, and a 405 with `Allow` for other methods on the same paths. */
export function registerRoutes(deps: RouterDeps, routes: RouteSpec[]): void {
  const allowed = new Map<string, string[]>();
  for (const route of routes) {
    const bound: BoundRoute = { spec: route, params: countParams(route.pattern), tally: deps.metrics.http.route(route.pattern) };
    deps.app[route.method](route.pattern, (res, req) => handle(deps, bound, res, req));
    if (route.method === 'any') continue;
    allowed.set(route.pattern, [...(allowed.get(route.pattern) ?? []), METHOD_NAME[route.method]]);
  }
  for (const [pattern, methods] of allowed) {
    const spec: RouteSpec = {
      method: 'get', pattern, handler: () => errorReply(fail('method_not_allowed', methods), { Allow: methods.join(', ') }),
    };
    const bound: BoundRoute = { spec, params: countParams(pattern), tally: deps.metrics.http.route(pattern) };
    deps.app.any(pattern, (res, req) => handle(deps, bound, res, req));
  }
}

/**
 * The request as a handler sees it. Headers and the client address are read from uWS only when
 * asked for, because uWS's request object is valid only during the callback; `detach` copies
 * what is left before the handler's first await lets the callback return.
 */
class RequestCtx implements Ctx {
  private req: HttpRequest | undefined;
  private readonly seen: Partial<Record<HeaderName, string>> = {};
  private parsedQuery: URLSearchParams | undefined;
  private address: string | undefined;
  private id: string | undefined;
  body: () => Promise<Buffer> = noBody;

  constructor(
    req: HttpRequest,
    private readonly res: HttpResponse,
    private readonly trustProxy: boolean,
    readonly method: string,
    readonly url: string,
    readonly rawQuery: string,
    readonly params: string[],
  ) {
    this.req = req;
  }

  header(name: HeaderName): string {
    let value = this.seen[name];
    if (value === undefined) this.seen[name] = value = this.req ? this.req.getHeader(name) : '';
    return value;
  }

  get query(): URLSearchParams {
    return (this.parsedQuery ??= new URLSearchParams(this.rawQuery));
  }

  get ip(): string {
    if (this.address === undefined) {
      const forwarded = this.trustProxy ? this.header('x-forwarded-for').split(',')[0]!.trim() : '';
      this.address = forwarded || Buffer.from(this.res.getRemoteAddressAsText()).toString();
    }
    return this.address;
  }

  get requestId(): string {
    return (this.id ??= requestIdFrom(this.header('x-request-id')));
  }

  /** Copies everything still unread out of uWS's request and response; call before they die. */
  detach(): void {
    if (!this.req) return;
    for (const name of HEADERS) this.header(name);
    void this.ip;
    void this.requestId;
    this.req = undefined;
  }
}

const noBody = (): Promise<Buffer> => Promise.reject(new Error('this route reads no body'));

/** A route as registered: its spec, its parameter count and its metrics, worked out once. */
interface BoundRoute {
  spec: RouteSpec;
  params: number;
  tally: RouteTally;
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
  const bodyPromise = route.bodyLimit === undefined ? undefined
    : readBody(res, ctx.header('content-length'),
      typeof route.bodyLimit === 'number' ? route.bodyLimit : route.bodyLimit(ctx.header('content-type')),
      onAbort);
  if (bodyPromise) {
    bodyPromise.catch(() => undefined); // handled where awaited; never an unhandled rejection
    ctx.body = () => bodyPromise;
  }
  const head = method === 'HEAD';
  deps.inFlight.enter();

  const finish = (reply: Reply, corked: boolean): void => {
    if (aborted) return done(deps, bound, ctx, started, 499, 0);
    // The unread rest of a refused body must not be parsed as the next request.
    const close = reply.close === true || (bodyPromise !== undefined && reply.status >= 400);
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

function toErrorReply(deps: RouterDeps, ctx: Ctx, err: unknown): Reply {
  if (err instanceof AppError) {
    deps.metrics.errors.inc({ code: err.code, status: String(err.status) });
    if (err.status >= 500) deps.log.warn({ requestId: ctx.requestId, method: ctx.method, code: err.code, err: err.cause ?? err }, err.message);
    return errorReply(err);
  }
  deps.metrics.errors.inc({ code: 'internal', status: '500' });
  deps.log.error({ requestId: ctx.requestId, method: ctx.method, url: ctx.url, err }, 'unhandled error');
  return errorReply(fail('internal'));
}

/** Bytes of body the reply puts on the wire: none for HEAD, 204 and 304 (see writeReply). */
function bodyBytes(reply: Reply, head: boolean): number {
  if (head || reply.status === 204 || reply.status === 304 || reply.body === undefined) return 0;
  return typeof reply.body === 'string' ? Buffer.byteLength(reply.body) : reply.body.length;
}

function done(deps: RouterDeps, bound: BoundRoute, ctx: RequestCtx, started: bigint, status: number, bytes: number): void {
  deps.inFlight.leave();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  bound.tally.record(METHOD_LABELS.has(ctx.method) ? ctx.method : 'OTHER', status, seconds, bytes);
  // The access log: no headers at all (so never Authorization), no bodies (so never a password).
  if (deps.log.isLevelEnabled('debug')) {
    deps.log.debug({
      requestId: ctx.requestId, method: ctx.method, route: bound.spec.pattern, url: ctx.rawQuery ? `${ctx.url}?${ctx.rawQuery}` : ctx.url,
      status, durationMs: Math.round(seconds * 1e6) / 1e3, bytes,
    }, 'request');
  }
}

function countParams(pattern: string): number {
  return pattern.split('/').filter((s) => s.startsWith(':')).length;
}
