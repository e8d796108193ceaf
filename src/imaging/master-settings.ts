import sharp, { type Sharp } from 'sharp';
import type { ImageLimits } from './pipeline.js';
import type { ImageProbe } from './probe.js';
import type { SourceFormat } from './sniff.js';

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

type FailOn = typeof FAIL_ON | 'warning';

/** The upload's first frame, as both routes read it; an sRGB profile is ignored (colour-profile.ts). */
export function openSource(input: Uint8Array, probe: ImageProbe, limits: ImageLimits, failOn: FailOn = FAIL_ON): Sharp {
  return sharp(input, { limitInputPixels: limits.maxPixels, failOn, pages: 1, ignoreIcc: probe.colour === 'none' });
}

// libjpeg's wording when the scan data stops early.
const CUT_SHORT = /premature end/i;

/**
 * Runs a decode of the source at FAIL_ON, but a JPEG first at 'warning': a JPEG cut short with
 * its end marker (FF D9) put back gives libjpeg only a warning ("premature end of data
 * segment"), which FAIL_ON lets through (the rest decodes grey) and which libvips does not
 * report when the decode is shrunk. Any other warning is retried at FAIL_ON, so a photo whose
 * only fault is harmless costs a second decode rather than a refusal.
 */
export async function decodeStrictly<T>(format: SourceFormat, run: (failOn: FailOn) => Promise<T>): Promise<T> {
  if (format !== 'jpeg') return run(FAIL_ON);
  try {
    return await run('warning');
  } catch (error) {
    if (error instanceof Error && CUT_SHORT.test(error.message)) throw error;
    return run(FAIL_ON);
  }
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
