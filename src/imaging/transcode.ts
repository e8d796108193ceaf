import type { OutputInfo } from 'sharp';
import type { ProcessedUpload } from '../domain/imaging.js';
import { decodeFailure } from './decode-errors.js';
import { decodeStrictly, MASTER_JPEG, MASTER_KERNEL, masterSide, openSource } from './master-settings.js';
import { applyOrientation } from './orient.js';
import type { ImageLimits, Stage } from './pipeline.js';
import type { ImageProbe, Probed } from './probe.js';
import type { SourceFormat } from './sniff.js';

/**
 * The one-pass route's only stage: a source with no alpha channel and no colour profile to
 * convert after the crop, which is nearly every photo, is decoded, cropped, resized, turned
 * upright and encoded in a single libvips pipeline, so its pixels never reach JavaScript.
 */

export const transcode: Stage<Probed, ProcessedUpload> = {
  name: 'transcode',
  run: (upload) => transcodeMaster(upload.input, upload.format, upload.probe, upload.limits),
};

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
 * The master in one of two orders:
 * - usually the centred square of the pixels as stored is cut out first, so the resize reads
 *   only the square, then it is resized, turned upright (see orient.ts) and encoded as JPEG.
 *   The turn needs the whole resized square in memory (libvips copies it once), which makes
 *   it the cheapest place for it: the square is the smallest image along the way.
 * - a JPEG at least three times the master's side is resized whole, so that its decoder
 *   shrinks it (DECODER_SHRINK_FROM), then turned, then cropped: for a large photo that costs
 *   less CPU, though it turns a little more than the square.
 */
export async function transcodeMaster(
  input: Uint8Array,
  format: SourceFormat,
  probe: ImageProbe,
  limits: ImageLimits,
): Promise<ProcessedUpload> {
  const crop = Math.min(probe.width, probe.height);
  const side = masterSide(probe, limits);
  let master: Buffer;
  let info: OutputInfo;
  try {
    ({ data: master, info } = await decodeStrictly(format, (failOn) => {
      let pipeline = openSource(input, probe, limits, failOn);
      pipeline = decoderShrinks(format, probe, limits)
        ? pipeline.resize(side, side, { fit: 'cover', position: 'centre', kernel: MASTER_KERNEL })
        : pipeline
          .extract({ left: (probe.width - crop) >> 1, top: (probe.height - crop) >> 1, width: crop, height: crop })
          .resize(side, side, { kernel: MASTER_KERNEL });
      // Grey, CMYK, 16-bit and palette sources all leave as 8-bit sRGB.
      pipeline = applyOrientation(pipeline.toColourspace('srgb'), probe.orientation);
      return pipeline.jpeg(MASTER_JPEG).toBuffer({ resolveWithObject: true });
    }));
  } catch (error) {
    throw decodeFailure(error, input, format, 'pixels');
  }
  if (info.width !== side || info.height !== side || info.channels !== 3) {
    throw new Error(`Expected a ${side}x${side} RGB master but received ${info.width}x${info.height}x${info.channels}`);
  }
  return { master, format: 'jpeg', hasAlpha: false, side };
}
