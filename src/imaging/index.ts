/**
 * The imaging folder's face. The HTTP and domain layers use the pool (which runs every stage
 * in worker threads); the stage functions are exported for tests, benchmarks and tools that
 * run them in-thread.
 */
export { ImagingPool, type ImagingPoolOptions, type ImagingPoolStats } from './pool.js';
export type { ImagingJob, JobKind, JobResult } from './jobs.js';
export type { ImageLimits, PlaceholderKind, ProcessedUpload, StageTimings } from './types.js';
export { sniffImageType, acceptedTypesText, heifDecoderAvailable, type SourceFormat } from './sniff.js';
export { probeImage, checkLimits, type ImageProbe } from './limits.js';
export { processUpload } from './process-upload.js';
export { renderRendition } from './render.js';
export { renderPlaceholder, DEFAULT_PLACEHOLDER, PLACEHOLDER_KINDS, isPlaceholderKind } from './placeholders.js';
