import { fail } from '../domain/errors.js';
import type { BodyWatch } from './read-body.js';

/**
 * Bounds on a multipart form, checked before anything parses it. Parsing makes an object per
 * part on the event loop, so a 10 MB form of tiny parts would hold up every other request; the
 * upload form has a `file` and an optional `label`, so a few parts are plenty. The checks only
 * search the bytes natively (Buffer.indexOf): while the body arrives, so a form with too many
 * parts is refused without reading the rest, and once more over the whole body before parsing.
 */

/** Parts an upload form may have: `file`, `label`, and room for a client's extra field. */
export const MAX_PARTS = 4;
/** Bytes of one part's headers (Content-Disposition, Content-Type): far more than any form needs. */
const MAX_PART_HEADER_BYTES = 1024;

const BOUNDARY = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i;
const HEADER_END = Buffer.from('\r\n\r\n');

/** Throws 400 `too_many_parts` past MAX_PARTS, `invalid_multipart` for a missing boundary or oversized part headers. */
export function checkMultipartLimits(body: Buffer, contentType: string): void {
  const delimiter = delimiterOf(contentType);
  if (!delimiter) throw fail('invalid_multipart');
  // Every part opens with the delimiter and the form closes with one more (`--boundary--`).
  let delimiters = 0;
  for (let at = body.indexOf(delimiter); at !== -1; at = body.indexOf(delimiter, at + delimiter.length)) {
    delimiters += 1;
    if (delimiters > MAX_PARTS + 1) throw fail('too_many_parts', MAX_PARTS);
    const headersFrom = at + delimiter.length;
    if (body[headersFrom] === 0x2d && body[headersFrom + 1] === 0x2d) break; // the closing delimiter
    const headersEnd = body.indexOf(HEADER_END, headersFrom);
    if (headersEnd === -1 || headersEnd - headersFrom > MAX_PART_HEADER_BYTES) throw fail('invalid_multipart');
  }
}

/** A watch that counts the form's delimiters as the body arrives: 400 `too_many_parts` past the limit. */
export function multipartPartsWatch(contentType: string): BodyWatch | undefined {
  const delimiter = delimiterOf(contentType);
  if (!delimiter) return undefined; // the whole-body check answers invalid_multipart
  let delimiters = 0;
  // The end of what came before, so a delimiter split between two pieces is still seen.
  let carry = Buffer.alloc(0);
  const count = (haystack: Buffer): void => {
    for (let at = haystack.indexOf(delimiter); at !== -1; at = haystack.indexOf(delimiter, at + delimiter.length)) {
      delimiters += 1;
      if (delimiters > MAX_PARTS + 1) throw fail('too_many_parts', MAX_PARTS);
    }
  };
  return (piece) => {
    // A match in the seam must start in `carry`, so it is not one of the piece's own.
    if (carry.length > 0) count(Buffer.concat([carry, piece.subarray(0, delimiter.length - 1)]));
    count(piece);
    const keep = delimiter.length - 1;
    carry = piece.length >= keep ? Buffer.from(piece.subarray(piece.length - keep))
      : Buffer.concat([carry, piece]).subarray(-keep);
  };
}

function delimiterOf(contentType: string): Buffer | undefined {
  const match = BOUNDARY.exec(contentType);
  return match ? Buffer.from(`--${match[1] ?? match[2]!}`) : undefined;
}
