import { performance } from 'node:perf_hooks';
import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { decodeFailure } from './decode-errors.js';
import { encodeMaster, MASTER_JPEG, MASTER_KERNEL, type CroppedSquare, type EncodedMaster } from './encode-master.js';
import { probeImage, type ImageProbe } from './limits.js';
import { applyOrientation } from './orient.js';
import { sniffImageType, type SourceFormat } from './sniff.js';
import type { ImageLimits, ProcessedUpload, StageTimings } from './types.js';

/**
 * An upload, start to end: sniff the type, probe the header against the limits, decode the
 * centred square crop, orient and encode it as the master. Every failure a client can cause
 * leaves as an AppError (415 or 422); nothing of sharp's own errors escapes.
 *
 * The pixels take one of two routes, chosen from the probe:
 * - one pass ('transcode' stage): a source with no alpha channel and no colour profile to
 *   convert after the crop, which is nearly every photo, is decoded, cropped, resized, turned
 *   upright and encoded in a single libvips pipeline, so the square never reaches JavaScript.
 * - two passes ('decode_resize', then 'encode'): a source with an alpha channel, whose square
 *   must be checked for transparency to choose JPEG or PNG, or with a profile that is converted
 *   only after the crop (colour-profile.ts), is first decoded to a square, then encoded.
 * Both give the same master; a unit test compares them for every orientation.
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
  if (onePass(probe)) {
    const encoded = await timed('transcode', () => transcodeMaster(input, sourceFormat, probe, limits));
    return { result: { ...encoded, side: masterSide(probe, limits), sourceFormat }, timings };
  }
  const square = await timed('decode_resize', () => decodeSquare(input, sourceFormat, probe, limits));
  // 'encode' includes turning the square upright, and converting its colours when 'after-crop'.
  const encoded = await timed('encode', () => encodeMaster(square));
  return {
    result: { ...encoded, side: square.side, sourceFormat },
    timings,
  };
}

/** Whether the master can be made in one pipeline: nothing to decide or convert between crop and encode. */
export function onePass(probe: ImageProbe): boolean {
  return !probe.hasAlpha && probe.colour !== 'after-crop';
}

/** The upload's first frame, as both routes read it; an sRGB profile is ignored (colour-profile.ts). */
function openSource(input: Uint8Array, probe: ImageProbe, limits: ImageLimits): Sharp {
  return sharp(input, { limitInputPixels: limits.maxPixels, failOn: FAIL_ON, pages: 1, ignoreIcc: probe.colour === 'none' });
}

/** The master's side: the source's short side, down to the configured size, never up. */
function masterSide(probe: ImageProbe, limits: ImageLimits): number {
  return Math.min(probe.width, probe.height, limits.masterSize);
}

/**
 * JPEG decoders can scale by 1/2, 1/4 or 1/8 as they decode (libjpeg's DCT scaling), at a
 * fraction of the cost of a full decode. sharp uses this for a resize of the whole image but
 * not after an extract, and only when the shrink is at least 3 (below that, libjpeg's rounding
 * of odd sizes could leave too few pixels): from 3 up, a JPEG is resized whole and then cropped.
 */
const DECODER_SHRINK_FROM = 3;

/** Whether the one-pass route lets the JPEG decoder shrink the source (see DECODER_SHRINK_FROM). */
export function decoderShrinks(format: SourceFormat, probe: ImageProbe, limits: ImageLimits): boolean {
  return format === 'jpeg' && Math.min(probe.width, probe.height) / masterSide(probe, limits) >= DECODER_SHRINK_FROM;
}

/**
 * The one-pass route, in one of two orders:
 * - usually the centred square of the pixels as stored is cut out first, so the resize reads
 *   only the square, then it is resized, turned upright (see orient.ts) and encoded as JPEG.
 *   The turn needs the whole resized square in memory (libvips copies it once), which makes
 *   it the cheapest place for it: the square is the smallest image along the way.
 * - a JPEG at least three times the master's side is resized whole, so that its decoder
 *   shrinks it (DECODER_SHRINK_FROM), then turned, then cropped: a 12-megapixel photo costs
 *   about a quarter less CPU this way, though it turns a little more than the square.
 */
export async function transcodeMaster(
  input: Uint8Array,
  format: SourceFormat,
  probe: ImageProbe,
  limits: ImageLimits,
): Promise<EncodedMaster> {
  const crop = Math.min(probe.width, probe.height);
  const side = masterSide(probe, limits);
  let master: Buffer;
  let info: OutputInfo;
  try {
    let pipeline = openSource(input, probe, limits);
    pipeline = decoderShrinks(format, probe, limits)
      ? pipeline.resize(side, side, { fit: 'cover', position: 'centre', kernel: MASTER_KERNEL })
      : pipeline
        .extract({ left: (probe.width - crop) >> 1, top: (probe.height - crop) >> 1, width: crop, height: crop })
        .resize(side, side, { kernel: MASTER_KERNEL });
    // Grey, CMYK, 16-bit and palette sources all leave as 8-bit sRGB.
    pipeline = applyOrientation(pipeline.toColourspace('srgb'), probe.orientation);
    ({ data: master, info } = await pipeline.jpeg(MASTER_JPEG).toBuffer({ resolveWithObject: true }));
  } catch (error) {
    throw decodeFailure(error, input, format, 'pixels');
  }
  if (info.width !== side || info.height !== side || info.channels !== 3) {
    throw new Error(`Expected a ${side}x${side} RGB master but received ${info.width}x${info.height}x${info.channels}`);
  }
  return { master, format: 'jpeg', hasAlpha: false };
}

/**
 * Decodes the first frame and cuts the centred square out of it, resized to the master's side,
 * all in one libvips pipeline, as the pixels are stored: the EXIF orientation is applied to the
 * square when it is encoded (see orient.ts), which is much cheaper than turning the whole source.
 * The side is the same either way, since a square has no orientation.
 *
 * The colour space follows the probe's `colour` (see colour-profile.ts): an sRGB profile is
 * ignored, since converting with it would change nothing; another profile on 8-bit RGB is
 * kept, in a TIFF container, so the encoder converts only the square; anything else is
 * converted to sRGB here by sharp.
 */
export async function decodeSquare(
  input: Uint8Array,
  format: SourceFormat,
  probe: ImageProbe,
  limits: ImageLimits,
): Promise<CroppedSquare> {
  const side = masterSide(probe, limits);
  try {
    const pipeline = openSource(input, probe, limits)
      .resize(side, side, { fit: 'cover', position: 'centre', kernel: MASTER_KERNEL })
      // Grey, CMYK, 16-bit and palette sources all arrive as 8-bit sRGB(A); an 'after-crop'
      // image is 8-bit RGB already and keeps its own colour space and profile for now.
      .toColourspace('srgb');
    const { data, info } = probe.colour === 'after-crop'
      ? await pipeline.keepIccProfile().tiff({ compression: 'none' }).toBuffer({ resolveWithObject: true })
      : await pipeline.raw().toBuffer({ resolveWithObject: true });
    const channels = info.channels === 4 ? 4 : 3;
    if (info.width !== side || info.height !== side || info.channels !== channels) {
      throw new Error(`Expected ${side}x${side} RGB(A) pixels but received ${info.width}x${info.height}x${info.channels}`);
    }
    return {
      data,
      side,
      channels,
      container: probe.colour === 'after-crop' ? 'tiff' : 'raw',
      orientation: probe.orientation,
    };
  } catch (error) {
    throw decodeFailure(error, input, format, 'pixels');
  }
}
