import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RenditionFormat } from '../../../src/domain/keys.js';
import { processUpload } from '../../../src/imaging/process-upload.js';
import { renderRendition } from '../../../src/imaging/render.js';
import * as images from '../../fixtures/images.js';

const FORMATS: RenditionFormat[] = ['jpeg', 'png', 'webp', 'avif'];
// sharp reports AVIF as 'heif' (the container) with AV1 compression.
const SHARP_FORMAT: Record<RenditionFormat, string> = { jpeg: 'jpeg', png: 'png', webp: 'webp', avif: 'heif' };

let photoMaster: Buffer; // 256x256 JPEG, red above blue
let transparentMaster: Buffer; // 400x400 PNG, left half green, right half transparent

beforeAll(async () => {
  photoMaster = (await processUpload(await images.phoneJpeg(1600, 1200, 6), images.defaultLimits({ masterSize: 256 }))).result.master;
  transparentMaster = (await processUpload(await images.pngWithAlpha(400, 400), images.defaultLimits())).result.master;
});

describe('renderRendition', () => {
  describe.each(FORMATS)('as %s', (format) => {
    it.each([1, 80, 256, 512])('is exactly %i pixels square, upscaling past the master', async (size) => {
      const meta = await sharp(await renderRendition(photoMaster, size, format)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([SHARP_FORMAT[format], size, size]);
    });

    it('looks like the master', async () => {
      const output = await renderRendition(photoMaster, 256, format);
      expect(await images.meanDifference(output, photoMaster)).toBeLessThan(8);
    });
  });

  it('shows transparency on white in JPEG, and keeps it in PNG, WebP and AVIF', async () => {
    const jpeg = await renderRendition(transparentMaster, 100, 'jpeg');
    expect(images.near(await images.pixelAt(jpeg, 90, 50), { r: 255, g: 255, b: 255 }, 10)).toBe(true);
    expect(images.near(await images.pixelAt(jpeg, 10, 50), images.GREEN)).toBe(true);
    for (const format of ['png', 'webp', 'avif'] as const) {
      const { data, info } = await sharp(await renderRendition(transparentMaster, 100, format)).raw().toBuffer({ resolveWithObject: true });
      expect(info.channels, format).toBe(4);
      expect(data[(50 * 100 + 90) * 4 + 3], format).toBeLessThan(10);
      expect(data[(50 * 100 + 10) * 4 + 3], format).toBeGreaterThan(245);
    }
  });

  it('carries no metadata', async () => {
    for (const format of FORMATS) {
      const meta = await sharp(await renderRendition(photoMaster, 64, format)).metadata();
      expect([meta.exif, meta.icc, meta.xmp], format).toEqual([undefined, undefined, undefined]);
    }
  });

  it('refuses a size that is not a positive integer', async () => {
    await expect(renderRendition(photoMaster, 0, 'jpeg')).rejects.toThrow(RangeError);
    await expect(renderRendition(photoMaster, 1.5, 'jpeg')).rejects.toThrow(RangeError);
  });
});
