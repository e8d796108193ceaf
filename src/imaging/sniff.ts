import { fileTypeFromBuffer } from 'file-type';
import sharp from 'sharp';
import { fail } from '../domain/errors.js';
import type { Stage, Upload } from './pipeline.js';

/**
 * Stage 1: decide what the bytes are. The Content-Type header and any file name are the
 * client's claim; only the magic numbers count, so an SVG (scriptable) or an HTML page sent
 * as `image/png` never reaches a decoder that would accept it.
 */

export type SourceFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'heif';

export interface Sniffed extends Upload {
  format: SourceFormat;
}

export const sniff: Stage<Upload, Sniffed> = {
  name: 'sniff',
  run: async (upload) => ({ ...upload, format: await sniffImageType(upload.input) }),
};

// Keyed by MIME type rather than extension: file-type gives animated PNG its own MIME type
// (image/apng) and HEIF its four; each maps to the decoder that reads it (first frame only).
const ACCEPTED_MIME: Readonly<Record<string, SourceFormat>> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/apng': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
  'image/heic': 'heif',
  'image/heic-sequence': 'heif',
  'image/heif': 'heif',
  'image/heif-sequence': 'heif',
};

// AVIF and HEIC share libheif; a libvips built without it reads neither.
const HEIF_FORMATS: ReadonlySet<SourceFormat> = new Set(['avif', 'heif']);

/** Names of the accepted types, as a sentence fragment for error messages. */
function acceptedTypesText(): string {
  const names = ['JPEG', 'PNG', 'WebP', 'GIF'];
  if (heifDecoderAvailable()) names.push('AVIF', 'HEIF');
  return `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

function heifDecoderAvailable(): boolean {
  return sharp.format.heif?.input.buffer === true;
}

/** The accepted source format of `input`, or a 415 `unsupported_type` that says what arrived. */
export async function sniffImageType(input: Uint8Array): Promise<SourceFormat> {
  if (input.byteLength === 0) {
    throw fail('unsupported_type', `The upload is empty; expected an image (${acceptedTypesText()}).`);
  }
  // file-type reads only the first few KB; bytes it cannot parse are simply not an image.
  const detected = await fileTypeFromBuffer(input).catch(() => undefined);
  const format = detected ? ACCEPTED_MIME[detected.mime] : undefined;
  if (format && (!HEIF_FORMATS.has(format) || heifDecoderAvailable())) return format;
  const what = detected ? `${detected.mime} (.${detected.ext})` : 'not a recognised image type';
  throw fail('unsupported_type', `The upload is ${what}; accepted types are ${acceptedTypesText()}.`);
}
