import type { RenditionFormat } from './keys.js';

/**
 * What the use cases need of image processing, and the types that cross that boundary. The
 * domain owns them; the imaging worker pool implements the port, and the metadata stores
 * record a master's format.
 */

/** Image formats a stored master rendition may have. */
export type MasterFormat = 'jpeg' | 'png';

/** Generated images for users without a picture (the `d` parameter). */
export type PlaceholderKind = 'mp' | 'identicon' | 'initials' | 'blank';

/** An accepted upload, made into the master every rendition is served from. */
export interface ProcessedUpload {
  /** The square master: oriented, cropped, metadata stripped. */
  master: Buffer;
  format: MasterFormat;
  hasAlpha: boolean;
  /** Side of the square master in pixels. */
  side: number;
}

export interface Imaging {
  processUpload(input: Uint8Array): Promise<ProcessedUpload>;
  render(master: Uint8Array, size: number, format: RenditionFormat): Promise<Buffer>;
  placeholder(kind: PlaceholderKind, seed: string, size: number, format: RenditionFormat): Promise<Buffer>;
}

/** The kinds of work the port does, one per method: how jobs are named in metrics. */
export type ImagingJobKind = 'upload' | 'render' | 'placeholder';
