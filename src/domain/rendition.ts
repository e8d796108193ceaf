import { createHash } from 'node:crypto';

/** Bytes ready to send, with what the headers need. */
export interface Rendition {
  bytes: Buffer;
  contentType: string;
  /** Strong ETag from the bytes themselves, so it changes exactly when they do. */
  etag: string;
  /**
   * Set when the read path, its render lane full, serves the nearest stored size instead of the
   * one asked for: the browser scales it, and no cache may keep it under the asked-for URL.
   */
  substitute?: true;
}

export function toRendition(bytes: Buffer, contentType: string): Rendition {
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
  return { bytes, contentType, etag };
}

/**
 * toRendition for the read path: the same ETag, hashed on libuv's threadpool (WebCrypto's digest
 * is asynchronous there), so a multi-megabyte render does not hold the event loop that serves
 * everyone's cache hits.
 */
export async function toRenditionOffLoop(bytes: Buffer, contentType: string): Promise<Rendition> {
  const digest = Buffer.from(await crypto.subtle.digest('SHA-256', bytes));
  return { bytes, contentType, etag: `"${digest.toString('base64url').slice(0, 27)}"` };
}
