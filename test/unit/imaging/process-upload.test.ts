import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/domain/errors.js';
import { MASTER_JPEG, MASTER_KERNEL } from '../../../src/imaging/master-settings.js';
import type { ImageProbe } from '../../../src/imaging/probe.js';
import { processUpload } from '../../../src/imaging/process-upload.js';
import { sniffImageType } from '../../../src/imaging/sniff.js';
import { decoderShrinks } from '../../../src/imaging/transcode.js';
import * as images from '../../fixtures/images.js';

const limits = images.defaultLimits();

async function master(input: Uint8Array, overrides = {}) {
  return (await processUpload(input, images.defaultLimits(overrides))).result;
}

describe('processUpload: accepted images', () => {
  it.each([
    ['a 1600x1200 phone JPEG', () => images.phoneJpeg(1600, 1200, 1), 768, 'jpeg', 'jpeg'],
    ['an opaque 300x200 PNG', () => images.opaquePng(300, 200), 200, 'jpeg', 'png'],
    ['a 320x240 WebP', () => images.webp(320, 240), 240, 'jpeg', 'webp'],
    ['a 64x64 animated GIF', () => images.gif(64, 64, 3), 64, 'jpeg', 'gif'],
    ['a 320x240 AVIF', () => images.avif(320, 240), 240, 'jpeg', 'avif'],
    ['a PNG with transparency', () => images.pngWithAlpha(400, 400), 400, 'png', 'png'],
  ] as const)('turns %s into a square master', async (_name, make, side, format, sourceFormat) => {
    const input = await make();
    expect(await sniffImageType(input)).toBe(sourceFormat);
    const result = await master(input);
    expect(result).toEqual({ master: expect.any(Buffer), side, format, hasAlpha: format === 'png' });
    const meta = await sharp(result.master).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual([format, side, side]);
  });

  it.each([[320, 240], [1600, 1200]])('accepts a %ix%i JPEG whose only fault is a harmless decoder warning (extraneous bytes)', async (w, h) => {
    const whole = await images.phoneJpeg(w, h);
    // Two stray bytes before the quantisation table: libjpeg warns "2 extraneous bytes before
    // marker 0xdb" and decodes every pixel.
    const dqt = whole.indexOf(Buffer.from([0xff, 0xdb]));
    const stray = Buffer.concat([whole.subarray(0, dqt), Buffer.from([0x00, 0x00]), whole.subarray(dqt)]);
    expect((await master(stray)).format).toBe('jpeg');
  });

  it('keeps a smaller master side when configured', async () => {
    const result = await master(await images.phoneJpeg(1600, 1200), { masterSize: 256 });
    expect(result.side).toBe(256);
  });

  it('stores an alpha channel that no pixel uses as JPEG', async () => {
    const result = await master(await images.opaquePngWithAlphaChannel());
    expect(result).toMatchObject({ format: 'jpeg', hasAlpha: false, side: 200 });
  });

  it('keeps the transparency of a PNG master', async () => {
    const { master: png } = await master(await images.pngWithAlpha(400, 400));
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    expect(data[(200 * 400 + 10) * 4 + 3]).toBe(255); // left half opaque
    expect(data[(200 * 400 + 390) * 4 + 3]).toBe(0); // right half transparent
  });

  it('uses the first frame of an animation', async () => {
    const { master: jpeg } = await master(await images.gif(64, 64, 3));
    expect(images.near(await images.pixelAt(jpeg, 32, 32), images.RED)).toBe(true);
  });

  it.each([
    ['an opaque image in one pass', images.opaquePng, ['probe', 'sniff', 'transcode']],
    ['an image with an alpha channel in two passes', images.pngWithAlpha, ['decode_resize', 'encode', 'probe', 'sniff']],
  ] as const)('reports the time of each stage: %s', async (_name, make, stages) => {
    const { timings } = await processUpload(await make(), limits);
    expect(Object.keys(timings).sort()).toEqual(stages);
    for (const seconds of Object.values(timings)) expect(seconds).toBeGreaterThanOrEqual(0);
  });
});

describe('decoderShrinks', () => {
  const probe = (width: number, height: number): ImageProbe => ({
    width, height, pages: 1, hasAlpha: false, orientation: 1, colour: 'none',
  });

  it.each([
    ['a 12-megapixel JPEG to a 768 master', 'jpeg', 4032, 3024, 768, true],
    ['a JPEG exactly three times the master', 'jpeg', 3000, 2304, 768, true],
    ['a 12-megapixel JPEG to a 1024 master (2.95 times)', 'jpeg', 4032, 3024, 1024, false],
    ['a 1600x1200 JPEG', 'jpeg', 1600, 1200, 768, false],
    ['a 12-megapixel PNG (no decoder scaling)', 'png', 4032, 3024, 768, false],
  ] as const)('%s', (_name, format, width, height, masterSize, expected) => {
    expect(decoderShrinks(format, probe(width, height), images.defaultLimits({ masterSize }))).toBe(expected);
  });
});

describe('processUpload: orientation and metadata', () => {
  // Every fixture displays red above blue; stored pixels are rotated to match the EXIF tag.
  it.each([1, 3, 6, 8])('applies EXIF orientation %i before cropping', async (orientation) => {
    const { master: jpeg, side } = await master(await images.phoneJpeg(1600, 1200, orientation));
    expect(side).toBe(768);
    expect(images.near(await images.pixelAt(jpeg, 384, 75), images.RED)).toBe(true);
    expect(images.near(await images.pixelAt(jpeg, 384, 693), images.BLUE)).toBe(true);
    // Centred crop of a landscape picture: the left and right edges of the band are the same colour.
    expect(images.near(await images.pixelAt(jpeg, 4, 75), images.RED)).toBe(true);
    expect(images.near(await images.pixelAt(jpeg, 763, 693), images.BLUE)).toBe(true);
  });

  it('stores no EXIF, GPS, XMP or ICC profile', async () => {
    const input = await images.phoneJpeg(1600, 1200, 6);
    const before = await sharp(input).metadata();
    expect(before.exif?.includes('OnePhone')).toBe(true);
    expect(before.icc).toBeDefined();

    const after = await sharp((await master(input)).master).metadata();
    expect(after.exif).toBeUndefined();
    expect(after.icc).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(after.orientation).toBeUndefined();
  });
});

describe('processUpload: colour profiles', () => {
  const ORANGE: images.Rgb = { r: 200, g: 100, b: 50 };

  /** A flat sRGB colour, stored converted to another profile (sharp's built-in 'p3' or 'cmyk') and tagged with it. */
  async function tagged(profile: string, options: { orientation?: number; format?: 'jpeg' | 'png'; alpha?: boolean } = {}) {
    const { orientation = 1, format = 'jpeg', alpha = false } = options;
    const half = sharp({ create: { width: 400, height: 300, channels: 4, background: { ...ORANGE, alpha: 1 } } }).png();
    let image = sharp({ create: { width: 800, height: 300, channels: 4, background: { ...ORANGE, alpha: alpha ? 0 : 1 } } })
      .composite([{ input: await half.toBuffer(), left: 0, top: 0 }])
      // withMetadata() on its own would tag the output sRGB.
      .withMetadata({ orientation, icc: profile });
    image = format === 'png' ? image.png() : image.jpeg({ quality: 95 });
    return image.toBuffer();
  }

  it('converts a Display P3 photo to sRGB (after the crop), turned upright, with no profile left', async () => {
    for (const orientation of [1, 6]) {
      const input = await tagged('p3', { orientation });
      // The stored numbers are P3's, far enough from sRGB's that ignoring the profile would show.
      const stored = await sharp(input, { ignoreIcc: true }).raw().toBuffer();
      expect(images.near({ r: stored[0]!, g: stored[1]!, b: stored[2]! }, ORANGE, 6)).toBe(false);

      const { master: jpeg, side } = await master(input);
      expect(images.near(await images.pixelAt(jpeg, side >> 1, side >> 1), ORANGE, 3)).toBe(true);
      const meta = await sharp(jpeg).metadata();
      expect([meta.icc, meta.exif, meta.orientation]).toEqual([undefined, undefined, undefined]);
    }
  });

  it('converts a Display P3 PNG with transparency and keeps the transparency', async () => {
    const input = await tagged('p3', { format: 'png', alpha: true });
    expect((await sharp(input).metadata()).icc).toBeDefined();
    const result = await master(input);
    expect(result).toMatchObject({ format: 'png', hasAlpha: true, side: 300 });
    const { data, info } = await sharp(result.master).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number) => (150 * info.width + x) * info.channels;
    expect(images.near({ r: data[at(30)]!, g: data[at(30) + 1]!, b: data[at(30) + 2]! }, ORANGE, 3)).toBe(true);
    expect(data[at(30) + 3]).toBe(255); // inside the opaque left half of the crop
    expect(data[at(270) + 3]).toBe(0); // inside the transparent right half
    expect((await sharp(result.master).metadata()).icc).toBeUndefined();
  });

  it.each(['srgb', 'p3'])('converts a 16-bit PNG tagged %s to sRGB (sharp alone would leave Display P3 numbers)', async (profile) => {
    // Stored as 16-bit numbers of `profile` for the sRGB colour ORANGE.
    const input = await sharp({ create: { width: 300, height: 200, channels: 3, background: ORANGE } })
      .toColourspace('rgb16').withMetadata({ icc: profile }).png().toBuffer();
    expect(await sharp(input).metadata()).toMatchObject({ depth: 'ushort', hasProfile: true });
    const result = await master(input);
    expect(result).toMatchObject({ format: 'jpeg', side: 200 });
    expect(images.near(await images.pixelAt(result.master, 100, 100), ORANGE, 3)).toBe(true);
  });

  it('converts CMYK as sharp does by default', async () => {
    const input = await tagged('cmyk');
    expect((await sharp(input).metadata()).space).toBe('cmyk');
    const { master: jpeg } = await master(input);
    const expected = await images.pixelAt(await sharp(input).toColourspace('srgb').png().toBuffer(), 400, 150);
    expect(images.near(await images.pixelAt(jpeg, 150, 150), expected, 3)).toBe(true);
  });

  it('ignores an sRGB profile without changing a pixel that converting with it would give', async () => {
    const input = await images.phoneJpeg(1600, 1200, 1);
    expect((await sharp(input).metadata()).icc).toBeDefined();
    const converted = await sharp(input).resize(768, 768, { fit: 'cover', kernel: MASTER_KERNEL }).jpeg(MASTER_JPEG).toBuffer();
    expect(await images.meanDifference((await master(input)).master, converted)).toBeLessThan(0.5);
  });
});

describe('processUpload: rejections', () => {
  it.each([
    ['SVG', 415, 'unsupported_type', images.svgDisguised],
    ['HTML', 415, 'unsupported_type', images.htmlDisguised],
    ['PDF', 415, 'unsupported_type', images.pdfDisguised],
    ['an 8x8 image', 422, 'too_small', () => images.tinyImage(8)],
    ['a pixel bomb', 422, 'too_many_pixels', images.pixelBomb],
    ['a JPEG cut in half', 422, 'truncated_image', images.truncatedJpeg],
    ['a JPEG cut in half with its end marker put back', 422, 'truncated_image', () => images.truncatedJpegWithEnd()],
    ['a large JPEG cut in half with its end marker put back', 422, 'truncated_image', () => images.truncatedJpegWithEnd(3000, 2000)],
    ['a PNG cut in half', 422, 'truncated_image', async () => cut(await images.opaquePng(300, 200))],
    ['a WebP cut in half', 422, 'truncated_image', async () => cut(await images.webp())],
    ['junk behind JPEG magic bytes', 422, 'undecodable_image', images.garbageWithJpegMagic],
    ['a JPEG with a corrupt header', 422, 'undecodable_image', corruptHeaderJpeg],
  ] as const)('refuses %s with %i %s', async (_name, status, code, make) => {
    const error = await processUpload(await make(), limits).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status, code });
    // No decoder internals in what a client reads.
    expect((error as AppError).message).not.toMatch(/vips|libpng|gifload|heif:/i);
  });

  it.skipIf('de265' in sharp.versions)(
    'refuses HEIC with 415 when libvips has no HEVC decoder (skipped: this libvips has one)',
    async () => {
      await expect(processUpload(await images.heicContainer(), limits))
        .rejects.toMatchObject({ status: 415, code: 'unsupported_type', message: expect.stringMatching(/HEIC/) });
    },
  );
});

function cut(bytes: Buffer): Buffer {
  return bytes.subarray(0, Math.floor(bytes.length / 2));
}

// A JPEG whose frame header claims 0x0 pixels.
async function corruptHeaderJpeg(): Promise<Buffer> {
  const jpeg = Buffer.from(await images.phoneJpeg(64, 48));
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  jpeg.fill(0, sof + 5, sof + 9);
  return jpeg;
}
