import type { Sharp } from 'sharp';

/**
 * EXIF orientation, applied to the cropped square instead of the whole source.
 *
 * A centred square crop commutes with every EXIF orientation (each is a rotation by a multiple
 * of 90 degrees, possibly mirrored, and all of them map the centre to the centre), so the
 * square can be cut and resized from the pixels as stored and turned afterwards. That turns a
 * rotation of the resized source (1024x768 for a 1600x1200 photo and a 768 master, which libvips
 * must first copy to memory because the JPEG decoder only reads top to bottom) into one of the
 * 768x768 square, done while the master is encoded. (A JPEG the decoder shrinks is turned
 * before the crop instead; see transcodeMaster.) The one visible difference: when the source's
 * long side exceeds the short by an odd number of pixels, the crop may sit half a pixel to the
 * other side.
 */

/** What to do to the stored pixels so they display upright: mirror left-right first, then rotate clockwise. */
interface Orientation {
  flop: boolean;
  angle: 0 | 90 | 180 | 270;
}

// EXIF 2.32, tag 0x0112; 5 (transpose) and 7 (transverse) are a mirror followed by a quarter turn.
const ORIENTATIONS: Readonly<Record<number, Orientation>> = {
  1: { flop: false, angle: 0 },
  2: { flop: true, angle: 0 },
  3: { flop: false, angle: 180 },
  4: { flop: true, angle: 180 },
  5: { flop: true, angle: 270 },
  6: { flop: false, angle: 90 },
  7: { flop: true, angle: 90 },
  8: { flop: false, angle: 270 },
};

/** The EXIF orientation (1 to 8) sharp read from the header; anything else means upright, as viewers treat it. */
export function exifOrientation(value: number | undefined): number {
  return value !== undefined && ORIENTATIONS[value] ? value : 1;
}

/** Adds the steps that make `orientation` upright; sharp always mirrors before it rotates. */
export function applyOrientation(pipeline: Sharp, orientation: number): Sharp {
  const { flop, angle } = ORIENTATIONS[orientation] ?? { flop: false, angle: 0 };
  if (flop) pipeline.flop();
  if (angle !== 0) pipeline.rotate(angle);
  return pipeline;
}
