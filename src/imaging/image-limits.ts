/**
 * The limits an upload is checked against from its header, before any pixel is decoded, and
 * the side of the master made from it. Every upload job carries them to its worker thread, so
 * they are plain data. The limit on the body's size is not here: the HTTP layer enforces it as
 * the body arrives, and a body over it never reaches a worker.
 */
export interface ImageLimits {
  /** Largest accepted width*height of the source. Default 50_000_000. */
  maxPixels: number;
  /** Smallest accepted side of the source, pixels. Default 16. */
  minSide: number;
  /** Largest accepted number of frames/pages in the source (only the first is used). Default 1000. */
  maxFrames: number;
  /** Side of the stored square master rendition; smaller sources keep their own side. Default 768. */
  masterSize: number;
}
