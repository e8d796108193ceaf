import sharp, { type Sharp } from 'sharp';
import type { ProcessedUpload } from '../domain/imaging.js';
import type { Cropped, CroppedSquare } from './decode-resize.js';
import { MASTER_JPEG, MASTER_PNG } from './master-settings.js';
import { applyOrientation } from './orient.js';
import type { Stage } from './pipeline.js';

/**
 * The two-pass route's last stage, for a square that had to be in hand before it is encoded
 * (see process-upload.ts): turn it upright, convert it to sRGB if it still has another colour
 * space, and encode it as the stored master, as PNG only if some pixel is transparent.
 *
 * Nothing of the original file (EXIF, GPS, XMP, comments) can reach the master: the square
 * carries no metadata but, for a non-sRGB source, its ICC profile, which is consumed by the
 * conversion here; and sharp writes none on output unless asked to (keepMetadata and friends,
 * never called here).
 */

export const encode: Stage<Cropped, ProcessedUpload> = {
  name: 'encode',
  run: (upload) => encodeMaster(upload.square),
};

export async function encodeMaster(square: CroppedSquare): Promise<ProcessedUpload> {
  const hasAlpha = square.channels === 4 && !(await isOpaque(square));
  // A TIFF square is converted from its embedded profile to sRGB as it loads (sharp's default).
  const pixels = applyOrientation(open(square), square.orientation);
  const { side } = square;
  if (hasAlpha) {
    return { master: await pixels.png(MASTER_PNG).toBuffer(), format: 'png', hasAlpha: true, side };
  }
  return { master: await pixels.removeAlpha().jpeg(MASTER_JPEG).toBuffer(), format: 'jpeg', hasAlpha: false, side };
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
