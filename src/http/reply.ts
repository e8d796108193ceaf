import type { HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { STATUS_CODES } from 'node:http';
import { AppError } from '../domain/errors.js';

/** What a handler answers; the edge writes it (corked, HEAD-aware, with backpressure). */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Headers made once by `preparedHeaders`, written before `headers`: for replies served from memory. */
  prepared?: PreparedHeaders;
  body?: Buffer | string;
  /** Close the connection after this reply (e.g. a body we refused to read). */
  close?: boolean;
}

export const json = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(value),
});

export const noContent = (): Reply => ({ status: 204 });

export function errorReply(err: AppError, headers: Record<string, string> = {}): Reply {
  return json(err.status, { error: { code: err.code, message: err.message } }, { ...err.headers, ...headers });
}

/**
 * A fixed set of headers made ready for the wire once, for replies served thousands of times a
 * second from memory (a cached avatar). uWS writes `name: value\r\n` per writeHeader call, and
 * each call crosses from JavaScript into C++; so the whole block goes out in one call, as the
 * value of the first header with the others joined on after it. Only server-made values belong
 * here: anything with CR or LF is refused, so no header can be smuggled in.
 */
export interface PreparedHeaders {
  readonly pairs: ReadonlyArray<readonly [string, string]>;
  readonly firstName: string;
  readonly joinedValue: string;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function preparedHeaders(pairs: ReadonlyArray<readonly [string, string]>): PreparedHeaders {
  if (pairs.length === 0) throw new Error('preparedHeaders needs at least one header');
  for (const [name, value] of pairs) {
    if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(value)) throw new Error(`not a safe header: ${JSON.stringify([name, value])}`);
  }
  const [first, ...rest] = pairs;
  return { pairs, firstName: first![0], joinedValue: [first![1], ...rest.map(([n, v]) => `${n}: ${v}`)].join('\r\n') };
}

const statusLines = new Map<number, string>();
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (!line) statusLines.set(status, (line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`));
  return line;
}

// Bodies up to this size go out in one write; larger ones follow the socket's backpressure.
const SINGLE_WRITE_LIMIT = 64 * 1024;

export interface WriteOptions {
  head: boolean;
  /** Close the connection after this reply. */
  close: boolean;
  /** Every response names its request. */
  requestId: string;
  isAborted: () => boolean;
}

/**
 * Writes a reply. Must run inside a cork (the handler's own tick, or `res.cork`). Returns a
 * promise that settles when the last byte is handed to the socket or the client went away.
 */
export function writeReply(res: HttpResponse, reply: Reply, o: WriteOptions): Promise<void> | undefined {
  res.writeStatus(statusLine(reply.status));
  if (reply.prepared) res.writeHeader(reply.prepared.firstName, reply.prepared.joinedValue);
  if (reply.headers) for (const name in reply.headers) res.writeHeader(name, reply.headers[name]!);
  res.writeHeader('X-Request-Id', o.requestId);
  const body = reply.body ?? '';
  if (reply.status === 304 || reply.status === 204) {
    // An empty end(): Content-Length 0, which no client reads as a body for these statuses. Not
    // endWithoutBody(): without a length this uWS build writes Content-Length 2^63, and with one
    // on a GET it then waits to send those bytes and stalls the keep-alive connection.
    res.end('', o.close);
    return undefined;
  }
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (o.head) {
    // The length GET would send, written by hand: in this uWS build endWithoutBody(length) leaves
    // the connection waiting for those bytes and stalls the next request on it, and any argument
    // at all (even undefined) makes it add a Content-Length of 2^63. Only a bare endWithoutBody()
    // on a HEAD adds none of its own (test/e2e/framing.test.ts). A HEAD reads no body, so no
    // HEAD reply needs the connection closed after it.
    res.writeHeader('Content-Length', String(length));
    res.endWithoutBody();
    return undefined;
  }
  if (typeof body === 'string' || length <= SINGLE_WRITE_LIMIT) {
    res.end(body, o.close);
    return undefined;
  }
  return writeWithBackpressure(res, body, o.isAborted);
}

function writeWithBackpressure(res: HttpResponse, body: Buffer, isAborted: () => boolean): Promise<void> | undefined {
  const start = res.getWriteOffset();
  const [ok, done] = res.tryEnd(body, body.length);
  if (ok || done) return undefined;
  return new Promise<void>((resolve) => {
    res.onWritable((offset) => {
      if (isAborted()) { resolve(); return false; }
      const [ok2, done2] = res.tryEnd(body.subarray(offset - start), body.length);
      if (done2) resolve();
      return ok2;
    });
  });
}
