import { decodeFailure } from './decode-errors.js';
import { decodeStrictly, MASTER_KERNEL, masterSide, openSource } from './master-settings.js';
import type { ImageLimits, Stage } from './pipeline.js';
import type { ImageProbe, Probed } from './probe.js';
import type { SourceFormat } from './sniff.js';

/**
 * The two-pass route's first stage: the centred square, decoded and resized to the master's
 * side, brought back from libvips so that the 'encode' stage can look at it (is any pixel
 * transparent?) and convert its colours.
 */

export interface CroppedSquare {
  /** Raw 8-bit sRGB pixels, or (container 'tiff') an uncompressed TIFF with the source's ICC profile. */
  data: Buffer;
  container: 'raw' | 'tiff';
  /** Side of the square, pixels. */
  side: number;
  /** 3 (RGB) or 4 (RGBA). */
  channels: 3 | 4;
  /** EXIF orientation of the source, 1 to 8: the square is cut from the pixels as stored. */
  orientation: number;
}

export interface Cropped extends Probed {
  square: CroppedSquare;
}

export const decodeResize: Stage<Probed, Cropped> = {
  name: 'decode_resize',
  run: async (upload) => ({ ...upload, square: await decodeSquare(upload.input, upload.format, upload.probe, upload.limits) }),
};

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
    const { data, info } = await decodeStrictly(format, (failOn) => {
      const pipeline = openSource(input, probe, limits, failOn)
        .resize(side, side, { fit: 'cover', position: 'centre', kernel: MASTER_KERNEL })
        // Grey, CMYK, 16-bit and palette sources all arrive as 8-bit sRGB(A); an 'after-crop'
        // image is 8-bit RGB already and keeps its own colour space and profile for now.
        .toColourspace('srgb');
      return probe.colour === 'after-crop'
        ? pipeline.keepIccProfile().tiff({ compression: 'none' }).toBuffer({ resolveWithObject: true })
        : pipeline.raw().toBuffer({ resolveWithObject: true });
    });
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
