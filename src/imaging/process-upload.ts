import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { decodeFailure } from './decode-errors.js';
import { encodeMaster, type RawImage } from './encode-master.js';
import { probeImage, type ImageProbe } from './limits.js';
import { sniffImageType, type SourceFormat } from './sniff.js';
import type { ImageLimits, ProcessedUpload, StageTimings } from './types.js';

/**
 * An upload, start to end: sniff the type, probe the header against the limits, decode with
 * orientation and a centred square crop, encode the master. Every failure a client can cause
 * leaves as an AppError (415 or 422); nothing of sharp's own errors escapes.
 */

/**
 * How strict the decoder is with damaged data. 'error' (which implies 'truncated') rejects
 * images that end early or that the decoder reports as broken, instead of silently serving
 * grey blocks. sharp's default, 'warning', is stricter still and would also reject the many
 * real camera JPEGs whose only fault is a harmless warning such as "extraneous bytes before
 * marker".
 */
const FAIL_ON = 'error' as const;

export async function processUpload(
  input: Uint8Array,
  limits: ImageLimits,
): Promise<{ result: ProcessedUpload; timings: StageTimings }> {
  const timings: StageTimings = {};
  const timed = async <T>(stage: keyof StageTimings, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      timings[stage] = (performance.now() - start) / 1000;
    }
  };

  const sourceFormat = await timed('sniff', () => sniffImageType(input));
  const probe = await timed('probe', () => probeImage(input, sourceFormat, limits));
  const raw = await timed('decode_resize', () => decodeSquare(input, sourceFormat, probe, limits));
  const encoded = await timed('encode', () => encodeMaster(raw));
  return {
    result: { ...encoded, side: raw.side, sourceFormat },
    timings,
  };
}

/**
 * Decodes the first frame, applies the EXIF orientation (before the metadata that carries it
 * is dropped) and crops the centred square, all in one libvips pipeline, into raw pixels.
 * The side uses the oriented dimensions: a portrait photo stored as landscape with
 * orientation 6 must be cropped as the portrait it is.
 */
export async function decodeSquare(
  input: Uint8Array,
  format: SourceFormat,
  probe: ImageProbe,
  limits: ImageLimits,
): Promise<RawImage> {
  const side = Math.min(probe.orientedWidth, probe.orientedHeight, limits.masterSize);
  try {
    const { data, info } = await sharp(input, { limitInputPixels: limits.maxPixels, failOn: FAIL_ON, pages: 1 })
      .autoOrient()
      .resize(side, side, { fit: 'cover', position: 'centre' })
      // Grey, CMYK, 16-bit and palette sources all arrive as 8-bit sRGB(A).
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const channels = info.channels === 4 ? 4 : 3;
    if (info.width !== side || info.height !== side || info.channels !== channels) {
      throw new Error(`Expected ${side}x${side} RGB(A) pixels but received ${info.width}x${info.height}x${info.channels}`);
    }
    return { data, side, channels };
  } catch (error) {
    throw decodeFailure(error, input, format, 'pixels');
  }
}
