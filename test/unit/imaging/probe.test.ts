import { describe, expect, it } from 'vitest';
import { checkLimits, probeImage, type ImageProbe } from '../../../src/imaging/probe.js';
import * as images from '../../fixtures/images.js';

const limits = images.defaultLimits();

function probe(overrides: Partial<ImageProbe>): ImageProbe {
  return { width: 800, height: 600, pages: 1, hasAlpha: false, orientation: 1, colour: 'none', ...overrides };
}

describe('probeImage', () => {
  it('reads the dimensions as stored and the EXIF orientation from the header', async () => {
    const result = await probeImage(await images.phoneJpeg(1600, 1200, 6), 'jpeg', limits);
    // Stored 1200x1600, displayed 1600x1200 once turned by orientation 6.
    expect(result).toMatchObject({ width: 1200, height: 1600, orientation: 6, pages: 1 });
  });

  it('counts the frames of an animation', async () => {
    expect((await probeImage(await images.gif(32, 32, 4), 'gif', limits)).pages).toBe(4);
  });

  it('refuses a pixel bomb from its header: 422 too_many_pixels', async () => {
    await expect(probeImage(await images.pixelBomb(), 'png', limits)).rejects.toMatchObject({
      status: 422,
      code: 'too_many_pixels',
      message: 'The image is 8000x8000 pixels (64000000); the limit is 50000000.',
    });
  });

  it('refuses an image under the minimum side: 422 too_small', async () => {
    await expect(probeImage(await images.tinyImage(8), 'png', limits)).rejects.toMatchObject({ status: 422, code: 'too_small' });
  });

  it('refuses more frames than the limit: 422 too_many_frames', async () => {
    await expect(probeImage(await images.gif(32, 32, 4), 'gif', images.defaultLimits({ maxFrames: 3 })))
      .rejects.toMatchObject({ status: 422, code: 'too_many_frames' });
  });

  it('answers 422 undecodable_image when not even the header can be read', async () => {
    await expect(probeImage(images.garbageWithJpegMagic(), 'jpeg', limits))
      .rejects.toMatchObject({ status: 422, code: 'undecodable_image' });
  });
});

describe('checkLimits', () => {
  it('checks pixels first, then the smallest side, then frames', () => {
    const all = probe({ width: 10_000_000, height: 10, pages: 5000 });
    expect(() => checkLimits(all, limits)).toThrow(expect.objectContaining({ code: 'too_many_pixels' }));
    expect(() => checkLimits({ ...all, width: 100 }, limits)).toThrow(expect.objectContaining({ code: 'too_small' }));
    expect(() => checkLimits({ ...all, width: 100, height: 100 }, limits)).toThrow(expect.objectContaining({ code: 'too_many_frames' }));
  });

  it('accepts an image exactly at every limit', () => {
    expect(() => checkLimits(probe({ width: 50_000_000 / 16, height: 16, pages: 1000 }), limits)).not.toThrow();
  });

  it('says what was expected and what arrived', () => {
    expect(() => checkLimits(probe({ width: 100_000, height: 100_000 }), limits))
      .toThrow('The image is 100000x100000 pixels (10000000000); the limit is 50000000.');
    expect(() => checkLimits(probe({ width: 8, height: 8 }), limits))
      .toThrow('The image is 8x8 pixels; each side must be at least 16.');
  });
});
