import type { MasterFormat } from '../metadata/port.js';

/** Safety limits, checked from the image header before any pixel is decoded. */
export interface ImageLimits {
  /** Largest accepted upload body, bytes. Only the HTTP layer enforces it (request-body.ts); no imaging stage reads it. Default 10 MiB. */
  maxBytes: number;
  /** Largest accepted width*height of the source. Default 50_000_000. */
  maxPixels: number;
  /** Smallest accepted side of the source, pixels. Default 16. */
  minSide: number;
  /** Largest accepted number of frames/pages in the source (only the first is used). Default 1000. */
  maxFrames: number;
  /** Side of the stored square master rendition; smaller sources keep their own side. Default 768. */
  masterSize: number;
}

export interface ProcessedUpload {
  /** The square master: oriented, cropped, metadata stripped. */
  master: Buffer;
  format: MasterFormat;
  hasAlpha: boolean;
  /** Side of the square master in pixels. */
  side: number;
  /** What the bytes were, as sniffed: 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'heif'. */
  sourceFormat: string;
}

/** Generated images for users without a picture (the `d` parameter). */
export type PlaceholderKind = 'mp' | 'identicon' | 'initials' | 'blank';

/** Wall-clock time spent in each stage of a job, seconds (for metrics). */
export type StageTimings = Partial<Record<'sniff' | 'probe' | 'transcode' | 'decode_resize' | 'encode', number>>;
