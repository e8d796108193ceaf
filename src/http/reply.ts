import type { HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { STATUS_CODES } from 'node:http';
import { AppError } from '../domain/errors.js';

/** What a handler answers; the edge writes it (corked, HEAD-aware, with backpressure). */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Close the connection after this reply (e.g. a body we refused to read). */
  close?: boolean;
}

export const json = (status: number, value: unknown, headers: Record<string, string> = {}): Reply => ({
  status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(value),
});

export const noContent = (): Reply => ({ status: 204 });

export function errorReply(err: AppError): Reply {
  return json(err.status, { error: { code: err.code, message: err.message } }, { ...err.headers });
}

const statusLines = new Map<number, string>();
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (!line) statusLines.set(status, (line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`));
  return line;
}

// Bodies up to this size go out in one write; larger ones follow the socket's backpressure.
const SINGLE_WRITE_LIMIT = 64 * 1024;

/**
 * Writes a reply. Must run inside a cork (the handler's own tick, or `res.cork`). Returns a
 * promise that settles when the last byte is handed to the socket or the client went away.
 */
export function writeReply(res: HttpResponse, reply: Reply, head: boolean, isAborted: () => boolean): Promise<void> | undefined {
  res.writeStatus(statusLine(reply.status));
  if (reply.headers) for (const name in reply.headers) res.writeHeader(name, reply.headers[name]!);
  const body = reply.body ?? '';
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (reply.status === 304 || reply.status === 204) {
    // An empty end(): Content-Length 0, which no client reads as a body for these statuses. Not
    // endWithoutBody(): without a length this uWS build writes Content-Length 2^63, and with one
    // on a GET it then waits to send those bytes and stalls the keep-alive connection.
    res.end('', reply.close);
    return undefined;
  }
  if (head) {
    // The length GET would send. Known fault (test/e2e/framing.test.ts): this uWS build then
    // stalls a next request on the same keep-alive connection.
    res.endWithoutBody(length, reply.close);
    return undefined;
  }
  if (typeof body === 'string' || length <= SINGLE_WRITE_LIMIT) {
    res.end(body, reply.close);
    return undefined;
  }
  return writeWithBackpressure(res, body, isAborted);
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
