import sharp, { type Metadata } from 'sharp';
import { fail } from '../domain/errors.js';
import { colourHandling, type ColourHandling } from './colour-profile.js';
import { decodeFailure } from './decode-errors.js';
import { exifOrientation } from './orient.js';
import type { ImageLimits, Stage } from './pipeline.js';
import type { Sniffed, SourceFormat } from './sniff.js';

/**
 * Stage 2: read the header and refuse what is too big, too small or too long before a single
 * pixel is decoded. A 100 KB PNG can declare 100000x100000 pixels; decoding it first and
 * checking afterwards is exactly the memory bomb the limit exists to stop.
 */

export interface ImageProbe {
  /** Dimensions as stored in the file (before EXIF orientation; a centred square crop needs no other). */
  width: number;
  height: number;
  /** Frames or pages in the file; 1 for still images. */
  pages: number;
  /** Whether the file has an alpha channel at all (not whether any pixel uses it). */
  hasAlpha: boolean;
  /** EXIF orientation, 1 (upright) to 8. */
  orientation: number;
  /** Whether and when the embedded ICC profile must be converted from (see colour-profile.ts). */
  colour: ColourHandling;
}

export interface Probed extends Sniffed {
  probe: ImageProbe;
}

export const probe: Stage<Sniffed, Probed> = {
  name: 'probe',
  run: async (upload) => ({ ...upload, probe: await probeImage(upload.input, upload.format, upload.limits) }),
};

export async function probeImage(input: Uint8Array, format: SourceFormat, limits: ImageLimits): Promise<ImageProbe> {
  let meta: Metadata;
  try {
    // The pixel limit is ours to check with a clear message, so sharp's own is lifted here;
    // metadata() parses the header only and allocates no pixel memory.
    meta = await sharp(input, { limitInputPixels: false, pages: 1 }).metadata();
  } catch (error) {
    throw decodeFailure(error, input, format, 'header');
  }
  const { width, height } = meta;
  if (!width || !height) {
    throw fail('undecodable_image', `The ${format.toUpperCase()} header declares no width or height.`);
  }
  const found: ImageProbe = {
    width,
    height,
    pages: meta.pages ?? 1,
    hasAlpha: meta.hasAlpha,
    orientation: exifOrientation(meta.orientation),
    colour: colourHandling(meta),
  };
  checkLimits(found, limits);
  return found;
}

/** The checks, in the order a client should hear about them. */
export function checkLimits(image: ImageProbe, limits: ImageLimits): void {
  const pixels = image.width * image.height;
  if (pixels > limits.maxPixels) {
    throw fail('too_many_pixels', image.width, image.height, limits.maxPixels);
  }
  const shortSide = Math.min(image.width, image.height);
  if (shortSide < limits.minSide) {
    throw fail('too_small', image.width, image.height, limits.minSide);
  }
  if (image.pages > limits.maxFrames) {
    throw fail('too_many_frames', image.pages, limits.maxFrames);
  }
}
