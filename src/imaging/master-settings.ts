import sharp, { type Sharp } from 'sharp';
import type { ImageLimits } from './pipeline.js';
import type { ImageProbe } from './probe.js';

/**
 * What both routes to a master share (see process-upload.ts): how the source is opened, the
 * master's side, and how the master is resampled and encoded. Both routes must give the same
 * master, so these live in one place.
 */

/**
 * How strict the decoder is with damaged data. 'error' (which implies 'truncated') rejects
 * images that end early or that the decoder reports as broken, instead of silently serving
 * grey blocks. sharp's default, 'warning', is stricter still and would also reject the many
 * real camera JPEGs whose only fault is a harmless warning such as "extraneous bytes before
 * marker".
 */
const FAIL_ON = 'error' as const;

/** The upload's first frame, as both routes read it; an sRGB profile is ignored (colour-profile.ts). */
export function openSource(input: Uint8Array, probe: ImageProbe, limits: ImageLimits): Sharp {
  return sharp(input, { limitInputPixels: limits.maxPixels, failOn: FAIL_ON, pages: 1, ignoreIcc: probe.colour === 'none' });
}

/** The master's side: the source's short side, down to the configured size, never up. */
export function masterSide(probe: ImageProbe, limits: ImageLimits): number {
  return Math.min(probe.width, probe.height, limits.masterSize);
}

// The master is an intermediate every rendition is made from, so its settings were chosen by
// what they do to the renditions served from it (bench/master-quality.ts measures that, and
// bench/imaging.mjs the cost):
// - Catmull-Rom ('cubic') rather than Lanczos-3: cheaper, and the renditions differ far less
//   than their own JPEG encoding loses.
// - JPEG quality 90 with 4:2:0 chroma: cheaper and smaller than full-resolution chroma; every
//   rendition is 4:2:0 anyway, and one of half the master's side or less is made by a
//   downscale of at least 2, which averages the chroma that subsampling drops.
// - No Huffman table optimisation: it is lossless and makes masters smaller, but with this
//   libjpeg (mozjpeg, in its libjpeg-turbo-compatible mode) it costs more than the rest of the
//   encode.
export const MASTER_KERNEL = 'cubic' as const;
export const MASTER_JPEG = { quality: 90, mozjpeg: false, chromaSubsampling: '4:2:0', optimiseCoding: false } as const;
export const MASTER_PNG = { compressionLevel: 6, palette: false } as const;
