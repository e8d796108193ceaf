import { createHash } from 'node:crypto';

/** Bytes ready to send, with what the headers need. */
export interface Rendition {
  bytes: Buffer;
  contentType: string;
  /** Strong ETag from the bytes themselves, so it changes exactly when they do. */
  etag: string;
}

export function toRendition(bytes: Buffer, contentType: string): Rendition {
  const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
  return { bytes, contentType, etag };
}
