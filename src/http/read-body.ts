import type { HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { fail } from '../domain/errors.js';

/**
 * Reads a request body into one Buffer, refusing it (413) as soon as it passes `limit`: up front
 * from Content-Length when there is one, else while the chunks arrive. Must be called in the
 * handler's own tick, before any await, or uWS may drop the data. Rejects if the client aborts.
 */
export function readBody(res: HttpResponse, contentLength: string, limit: number, onAbort: (fn: () => void) => void): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    if (contentLength !== '' && (!/^\d+$/.test(contentLength) || Number(contentLength) > limit)) {
      // Still attach onData, so uWS can route the unread bytes somewhere while we answer and close.
      res.onData(() => undefined);
      reject(fail('too_large', limit));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let finished = false;
    onAbort(() => {
      if (!finished) { finished = true; reject(new ClientAborted()); }
    });
    res.onData((chunk, isLast) => {
      if (finished) return;
      received += chunk.byteLength;
      if (received > limit) {
        finished = true;
        reject(fail('too_large', limit));
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) {
        finished = true;
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
      }
    });
  });
}

/** The client went away; nothing is written back. */
export class ClientAborted extends Error {
  constructor() {
    super('client aborted the request');
    this.name = 'ClientAborted';
  }
}
