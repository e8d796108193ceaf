import sharp, { type Sharp } from 'sharp';
import type { MasterFormat } from '../metadata/port.js';
import { applyOrientation } from './orient.js';

/**
 * The last stage of an upload that needs its square in hand before it is encoded (see
 * process-upload.ts): turn the cropped square upright, convert it to sRGB if it still has
 * another colour space, and encode it as the stored master.
 *
 * Nothing of the original file (EXIF, GPS, XMP, comments) can reach the master: the square
 * carries no metadata but, for a non-sRGB source, its ICC profile, which is consumed by the
 * conversion here; and sharp writes none on output unless asked to (keepMetadata and friends,
 * never called here).
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

export interface EncodedMaster {
  master: Buffer;
  format: MasterFormat;
  hasAlpha: boolean;
}

// The master is an intermediate every rendition is made from. Its settings were chosen by what
// they do to the renditions served from it (bench/master-quality.mjs, README "Performance"):
// - Resampled with Catmull-Rom ('cubic'), not Lanczos-3: 1.3 ms less per 1600x1200 upload (to a
//   1024 master), and the renditions differ by under 0.25 dB PSNR, far below the loss of their
//   own JPEG encoding.
// - JPEG quality 90 with 4:2:0 chroma: about 2 ms less per upload than full-resolution chroma,
//   and masters about 20% smaller; every rendition is 4:2:0 anyway, and one of half the
//   master's side or less is made by a downscale of at least 2, which averages the chroma that
//   subsampling drops.
// - No Huffman table optimisation. It is lossless and makes masters 6-9% smaller, but with this
//   libjpeg (mozjpeg, in its libjpeg-turbo-compatible mode) it costs more than the rest of the
//   encode: 19 ms instead of 7.5 ms for a 1024 square.
export const MASTER_KERNEL = 'cubic' as const;
export const MASTER_JPEG = { quality: 90, mozjpeg: false, chromaSubsampling: '4:2:0', optimiseCoding: false } as const;
const MASTER_PNG = { compressionLevel: 6, palette: false } as const;

export async function encodeMaster(square: CroppedSquare): Promise<EncodedMaster> {
  const hasAlpha = square.channels === 4 && !(await isOpaque(square));
  // A TIFF square is converted from its embedded profile to sRGB as it loads (sharp's default).
  const pixels = applyOrientation(open(square), square.orientation);
  if (hasAlpha) {
    return { master: await pixels.png(MASTER_PNG).toBuffer(), format: 'png', hasAlpha: true };
  }
  return { master: await pixels.removeAlpha().jpeg(MASTER_JPEG).toBuffer(), format: 'jpeg', hasAlpha: false };
}

function open(square: CroppedSquare): Sharp {
  return square.container === 'tiff'
    ? sharp(square.data)
    : sharp(square.data, { raw: { width: square.side, height: square.side, channels: square.channels } });
}

/**
 * Whether every alpha value is 255. The header's `hasAlpha` only says a channel exists; many
 * screenshots and exported PNGs carry a fully opaque one, and storing those as PNG would cost
 * several times the bytes of a JPEG for nothing. The check runs on the cropped master, so
 * transparency that was cropped away does not count either.
 */
async function isOpaque(square: CroppedSquare): Promise<boolean> {
  const stats = await open(square).stats();
  return stats.isOpaque;
}
