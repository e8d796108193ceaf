import type { Sharp } from 'sharp';
import type { RenditionFormat } from '../domain/keys.js';

/**
 * The output settings of every served image, pictures and placeholders alike, in one place so
 * that a change of quality or speed applies everywhere. Renditions are small (at most 2048
 * square) and made on demand in a request's critical path, so each format leans to speed
 * where the size cost is small.
 */

/** JPEG has no alpha channel; transparent pixels are shown on white, as pages mostly are. */
const JPEG_BACKGROUND = '#ffffff';

export function encodeRendition(pipeline: Sharp, format: RenditionFormat): Promise<Buffer> {
  switch (format) {
    case 'jpeg':
      // flatten() is a no-op for images without alpha, so it needs no check of the source.
      return pipeline.flatten({ background: JPEG_BACKGROUND }).jpeg({ quality: 85, mozjpeg: false }).toBuffer();
    case 'png':
      // Palette quantisation is lossy and slow; avatars are photos more often than logos.
      return pipeline.png({ compressionLevel: 6, palette: false }).toBuffer();
    case 'webp':
      return pipeline.webp({ quality: 80, effort: 4 }).toBuffer();
    case 'avif':
      // effort 2 of 0..9: AVIF encoding is by far the slowest step, several times JPEG's.
      return pipeline.avif({ quality: 50, effort: 2 }).toBuffer();
  }
}
