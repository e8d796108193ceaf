import sharp from 'sharp';
import type { MasterFormat } from '../metadata/port.js';

/**
 * Stage 4 of an upload: encode the cropped pixels as the stored master.
 *
 * The input is raw sRGB pixels, so nothing of the original file (EXIF, GPS, XMP, ICC, comments)
 * can reach the master: the metadata was already left behind when the pixels were decoded,
 * and sharp adds none on output unless asked to (keepMetadata/withMetadata, never called here).
 */

export interface RawImage {
  data: Buffer;
  /** Side of the square, pixels. */
  side: number;
  /** 3 (RGB) or 4 (RGBA); sharp's raw output is always sRGB, 8 bits per channel. */
  channels: 3 | 4;
}

export interface EncodedMaster {
  master: Buffer;
  format: MasterFormat;
  hasAlpha: boolean;
}

// The master is an intermediate every rendition is made from, so it is kept at high quality
// with full-resolution chroma: a second 4:2:0 pass at render time would blur coloured edges twice.
const MASTER_JPEG = { quality: 90, mozjpeg: false, chromaSubsampling: '4:4:4' } as const;
const MASTER_PNG = { compressionLevel: 6, palette: false } as const;

export async function encodeMaster(image: RawImage): Promise<EncodedMaster> {
  const hasAlpha = image.channels === 4 && !(await isOpaque(image));
  const pixels = sharp(image.data, { raw: { width: image.side, height: image.side, channels: image.channels } });
  if (hasAlpha) {
    return { master: await pixels.png(MASTER_PNG).toBuffer(), format: 'png', hasAlpha: true };
  }
  return { master: await pixels.removeAlpha().jpeg(MASTER_JPEG).toBuffer(), format: 'jpeg', hasAlpha: false };
}

/**
 * Whether every alpha value is 255. The header's `hasAlpha` only says a channel exists; many
 * screenshots and exported PNGs carry a fully opaque one, and storing those as PNG would cost
 * several times the bytes of a JPEG for nothing. The check runs on the cropped master, so
 * transparency that was cropped away does not count either.
 */
async function isOpaque(image: RawImage): Promise<boolean> {
  const stats = await sharp(image.data, { raw: { width: image.side, height: image.side, channels: image.channels } }).stats();
  return stats.isOpaque;
}
