import type { ProcessedUpload } from '../domain/imaging.js';
import { decodeResize } from './decode-resize.js';
import { encode } from './encode.js';
import { Pipeline, type ImageLimits, type StageTimings } from './pipeline.js';
import { probe, type ImageProbe } from './probe.js';
import { sniff } from './sniff.js';
import { transcode } from './transcode.js';

/**
 * An upload, start to end, as lists of stages (one file each, named after the stage; the names
 * label the stage-time metric). Every failure a client can cause leaves as an AppError (415 or
 * 422); nothing of sharp's own errors escapes.
 *
 * Every upload is first inspected; then its pixels take one of two routes, chosen from the probe.
 * Both give the same master; a unit test compares them for every orientation.
 */

/** What the bytes are, and whether the header is within the limits, before any pixel is decoded. */
export const INSPECT = Pipeline.of(sniff, probe);

/**
 * A source with no alpha channel and no colour profile to convert after the crop, which is
 * nearly every photo: decoded, cropped, resized, turned upright and encoded in one libvips
 * pipeline, so the square never reaches JavaScript.
 */
export const ONE_PASS = Pipeline.of(transcode);

/**
 * A source with an alpha channel, whose square must be checked for transparency to choose JPEG
 * or PNG, or with a profile that is converted only after the crop (colour-profile.ts): first
 * decoded to a square, then encoded. 'encode' includes turning the square upright, and
 * converting its colours when 'after-crop'.
 */
export const TWO_PASSES = Pipeline.of(decodeResize, encode);

/** Whether the master can be made in one pipeline: nothing to decide or convert between crop and encode. */
export function onePass(image: ImageProbe): boolean {
  return !image.hasAlpha && image.colour !== 'after-crop';
}

export async function processUpload(
  input: Uint8Array,
  limits: ImageLimits,
): Promise<{ result: ProcessedUpload; timings: StageTimings }> {
  const timings: StageTimings = {};
  const inspected = await INSPECT.run({ input, limits }, timings);
  const route = onePass(inspected.probe) ? ONE_PASS : TWO_PASSES;
  return { result: await route.run(inspected, timings), timings };
}
