import sharp, { type Sharp } from 'sharp';
import type { PlaceholderKind } from '../domain/imaging.js';
import type { RenditionFormat } from '../domain/keys.js';
import { encodeRendition } from './encode-rendition.js';
import { identiconSvg, initialsSvg, mysteryPersonSvg } from './placeholder-svg.js';

/**
 * Generated images for users without a picture (Gravatar's `d=` values), at exactly
 * size x size in any rendition format.
 */

/** `seed` is what makes identicons and initials personal: the (folded) username. */
export async function renderPlaceholder(
  kind: PlaceholderKind,
  seed: string,
  size: number,
  format: RenditionFormat,
): Promise<Buffer> {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`Expected a positive integer for size but received ${size}`);
  }
  return encodeRendition(source(kind, seed, size), format);
}

function source(kind: PlaceholderKind, seed: string, size: number): Sharp {
  switch (kind) {
    case 'blank':
      // No drawing needed: a transparent canvas (made white for JPEG by encodeRendition).
      return sharp({ create: { width: size, height: size, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } });
    case 'mp':
      return rasterise(mysteryPersonSvg(size), size);
    case 'identicon':
      return rasterise(identiconSvg(seed, size), size);
    case 'initials':
      return rasterise(initialsSvg(seed, size), size);
  }
}

function rasterise(svg: string, size: number): Sharp {
  // The SVG states its size in pixels at the default 72 DPI; the resize only guards against
  // a rounding pixel in librsvg and costs nothing when the size already matches.
  return sharp(Buffer.from(svg)).resize(size, size, { fit: 'fill' });
}
