import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/domain/errors.js';
import { sniffImageType } from '../../../src/imaging/sniff.js';
import * as images from '../../fixtures/images.js';

describe('sniffImageType', () => {
  it.each([
    ['jpeg', () => images.phoneJpeg(64, 48)],
    ['png', () => images.opaquePng()],
    ['png', () => images.pngWithAlpha()],
    ['webp', () => images.webp()],
    ['gif', () => images.gif()],
    ['avif', () => images.avif()],
    ['heif', () => images.heicContainer()],
  ] as const)('recognises %s from the bytes', async (format, make) => {
    expect(await sniffImageType(await make())).toBe(format);
  });

  it.each([
    ['SVG', images.svgDisguised, /svg|xml|not a recognised/i],
    ['HTML', images.htmlDisguised, /not a recognised|html/i],
    ['PDF', images.pdfDisguised, /application\/pdf/],
    ['plain text', () => Buffer.from('hello, this is not an image at all'), /not a recognised/],
    ['an empty body', () => Buffer.alloc(0), /empty/],
  ])('refuses %s with 415 unsupported_type', async (_name, make, detected) => {
    const error = await sniffImageType(make()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status: 415, code: 'unsupported_type' });
    // The message says what arrived and what would have been accepted.
    expect((error as AppError).message).toMatch(detected);
    expect((error as AppError).message).toMatch(/JPEG, PNG, WebP/);
  });

  it('judges the bytes, not a name or header: a PNG is a PNG whatever it claims', async () => {
    const png = await images.opaquePng();
    expect(await sniffImageType(new Uint8Array(png.buffer, png.byteOffset, png.byteLength))).toBe('png');
  });
});
