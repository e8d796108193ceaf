import sharp from 'sharp';
import type { RenditionFormat } from '../domain/keys.js';
import { encodeRendition } from './encode-rendition.js';

/**
 * A served rendition of a stored master: size x size in the requested format. Masters are our
 * own output (square, sRGB, no metadata), so this trusts them more than uploads; the square
 * `cover` fit still guarantees exact dimensions even for a master that somehow is not square.
 * Sizes above the master's side are upscaled, as Gravatar does, so `s=` always means what it says.
 */
export async function renderRendition(master: Uint8Array, size: number, format: RenditionFormat): Promise<Buffer> {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`Expected a positive integer for size but received ${size}`);
  }
  const pipeline = sharp(master).resize(size, size, { fit: 'cover', position: 'centre' });
  return encodeRendition(pipeline, format);
}
