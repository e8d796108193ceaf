import { AppError, fail } from '../domain/errors.js';
import type { SourceFormat } from './sniff.js';

/**
 * Turns whatever sharp/libvips threw while reading an upload into a client error. Raw sharp
 * messages never escape: they name internal loaders ("VipsJpeg", "gifload_buffer"), may carry
 * several lines of decoder chatter, and are not a stable interface.
 */

// Decoder wording for "the data stopped early", across libjpeg, giflib, libwebp and libheif.
const TRUNCATED_MESSAGE = /premature end|truncated|unexpected end|end of file|not enough data/i;

// libheif's wording when the container is fine but no HEVC decoder plugin is built in
// (sharp's prebuilt binaries ship libheif with AV1 only, for patent reasons).
const MISSING_CODEC_MESSAGE = /has not been built in|unsupported codec|no decoding plugin/i;

/**
 * `stage` is where sharp failed. Reading the header ('header') fails early for junk and for
 * cut-short files alike, so only a length the file itself declares can tell them apart there;
 * once the header has been read ('pixels'), running out of data means the upload was cut.
 */
export function decodeFailure(error: unknown, input: Uint8Array, format: SourceFormat, stage: 'header' | 'pixels'): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (format === 'heif' && MISSING_CODEC_MESSAGE.test(message)) {
    return fail(
      'unsupported_type',
      'The upload is a HEIC (HEVC-coded HEIF) image, which this server cannot decode; '
      + 'send it as JPEG, PNG, WebP or AVIF instead.',
    );
  }
  const truncated = stage === 'pixels'
    ? TRUNCATED_MESSAGE.test(message) || endsEarly(input, format)
    : declaresMoreThanArrived(input, format);
  if (truncated) {
    return fail('truncated_image', format, input.byteLength);
  }
  return fail('undecodable_image', `The bytes look like ${format.toUpperCase()} but could not be decoded as an image.`);
}

/**
 * Whether the bytes lack the end their format requires. Only consulted after a decoder has
 * already failed, to tell "cut short" from "corrupt" where the decoder's own message does not
 * (libpng says only "read error" either way).
 */
export function endsEarly(input: Uint8Array, format: SourceFormat): boolean {
  const n = input.byteLength;
  switch (format) {
    case 'jpeg': // EOI marker
      return !(n >= 2 && input[n - 2] === 0xff && input[n - 1] === 0xd9);
    case 'png': // IEND chunk: type, then a 4-byte CRC
      return n < 8 || String.fromCharCode(...input.subarray(n - 8, n - 4)) !== 'IEND';
    case 'gif': // trailer byte
      return input[n - 1] !== 0x3b;
    case 'webp':
      return declaresMoreThanArrived(input, format);
    default: // ISO-BMFF (AVIF/HEIF) has no end marker; rely on the decoder's message
      return false;
  }
}

/** Whether the file states its own length and more than that is missing (WebP's RIFF header does). */
function declaresMoreThanArrived(input: Uint8Array, format: SourceFormat): boolean {
  return format === 'webp' && input.byteLength >= 12 && readUint32LE(input, 4) + 8 > input.byteLength;
}

function readUint32LE(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}
