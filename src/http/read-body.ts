import type { HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { fail } from '../domain/errors.js';

/** Looks at each piece of a body as it arrives, and throws (an AppError) to refuse the body. */
export type BodyWatch = (piece: Buffer) => void;

/** A body being read: held back (the socket paused) until `start`, so checks can come first. */
export interface BodyReader {
  readonly body: Promise<Buffer>;
  /** Lets the body flow; the handler calls it when it reads the body. */
  start(): void;
  /** Stops keeping the body and lets the rest flow past (e.g. once the answer is decided). */
  discard(): void;
}

/** A body refused before any of it is read: `error` once it is asked for. */
export function refusedBody(res: HttpResponse, error: unknown): BodyReader {
  // Still attach onData, so uWS can route the unread bytes somewhere while we answer and close.
  res.onData(() => undefined);
  const body = Promise.reject(error);
  return { body, start: () => undefined, discard: () => undefined };
}

/**
 * Reads a request body into one Buffer, refusing it (413) as soon as it passes `limit`: up front
 * from Content-Length when there is one, else while the chunks arrive. With a Content-Length the
 * body is copied once, straight into a buffer of that size, so a large body costs the loop one
 * copy and no join. `watch` may refuse the body part-way (e.g. a multipart form with too many
 * parts), so the rest is never read. The socket is paused until `start`, so that the token and
 * the upload limits are checked before the body is taken in. Must be called in the handler's own
 * tick, before any await, or uWS may drop the data. Rejects if the client aborts.
 */
export function readBody(
  res: HttpResponse, contentLength: string, limit: number, onAbort: (fn: () => void) => void, watch?: BodyWatch,
): BodyReader {
  if (contentLength !== '' && (!/^\d+$/.test(contentLength) || Number(contentLength) > limit)) {
    return refusedBody(res, fail('too_large', limit));
  }
  let paused = true;
  let finished = false;
  // uWS throws on any use of a response after its abort.
  let aborted = false;
  const resume = (): void => {
    if (paused && !aborted) { paused = false; res.resume(); }
  };
  const body = new Promise<Buffer>((resolve, reject) => {
    const expected = contentLength === '' ? undefined : Number(contentLength);
    let whole: Buffer | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    const refuse = (err: unknown): void => { finished = true; reject(err); };
    onAbort(() => {
      aborted = true;
      if (!finished) refuse(new ClientAborted());
    });
    res.onData((chunk, isLast) => {
      if (finished) return;
      const size = chunk.byteLength;
      if (received + size > (expected ?? limit)) return refuse(fail('too_large', limit));
      // The watch sees uWS's own memory, before any copy: a body it refuses costs no allocation.
      try {
        watch?.(Buffer.from(chunk));
      } catch (err) {
        return refuse(err);
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      if (expected !== undefined) {
        whole ??= Buffer.allocUnsafe(expected);
        whole.set(new Uint8Array(chunk), received);
      } else {
        chunks.push(Buffer.from(chunk.slice(0)));
      }
      received += size;
      if (isLast) {
        finished = true;
        if (whole) resolve(received === whole.length ? whole : whole.subarray(0, received));
        else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
      }
    });
    res.pause();
  });
  return {
    body,
    start: resume,
    discard: () => { finished = true; resume(); },
  };
}

/** The client went away; nothing is written back. */
export class ClientAborted extends Error {
  constructor() {
    super('client aborted the request');
    this.name = 'ClientAborted';
  }
}
