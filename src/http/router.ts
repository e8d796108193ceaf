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
    requestId: headers.get('x-request-id')!.slice(0, 64) || randomUUID(),
    body: () => bodyPromise ?? Promise.reject(new Error(`route ${route.pattern} reads no body`)),
  };
  const head = method === 'HEAD';
  deps.inFlight.enter();
  deps.metrics.httpInFlight.inc();

  const finish = (reply: Reply, corked: boolean): void => {
    if (aborted) return done(deps, route, method, 499, started);
    if (bodyPromise && reply.status >= 400) reply.close = true; // the unread rest of the body must not be parsed as a request
    let pending: Promise<void> | undefined;
    const write = () => { pending = writeReply(res, reply, head, () => aborted); };
    if (corked) write(); else res.cork(write);
    if (pending) void pending.then(() => done(deps, route, method, reply.status, started));
    else done(deps, route, method, reply.status, started);
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
    if (err.status >= 500) deps.log.warn({ requestId: ctx.requestId, code: err.code, err: err.cause ?? err }, err.message);
    return errorReply(err);
  }
  deps.metrics.errors.inc({ code: 'internal', status: '500' });
  deps.log.error({ requestId: ctx.requestId, method: ctx.method, url: ctx.url, err }, 'unhandled error');
  return json(500, { error: { code: 'internal', message: 'Something went wrong on our side; it has been logged.' } });
}

function done(deps: RouterDeps, route: RouteSpec, method: string, status: number, started: bigint): void {
  deps.inFlight.leave();
  deps.metrics.httpInFlight.dec();
  deps.metrics.httpRequests.inc({ route: route.pattern, method, status: String(status) });
  deps.metrics.httpDuration.observe({ route: route.pattern, method }, Number(process.hrtime.bigint() - started) / 1e9);
}

const paramCounts = new Map<string, number>();
function countParams(pattern: string): number {
  let n = paramCounts.get(pattern);
  if (n === undefined) paramCounts.set(pattern, (n = pattern.split('/').filter((s) => s.startsWith(':')).length));
  return n;
}
