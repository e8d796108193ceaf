import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeSquare } from '../../../src/imaging/decode-resize.js';
import { encodeMaster } from '../../../src/imaging/encode.js';
import { probeImage } from '../../../src/imaging/probe.js';
import { onePass, processUpload } from '../../../src/imaging/process-upload.js';
import { decoderShrinks, transcodeMaster } from '../../../src/imaging/transcode.js';
import * as images from '../../fixtures/images.js';

/**
 * All eight EXIF orientations, on a picture whose four quadrants have four colours as
 * displayed, so that a mirror shows as surely as a turn. The stored pixels are laid out from
 * the EXIF definition of each orientation ("the 0th row is the visual right-hand side, the
 * 0th column the visual top" for 6, and so on), not from any image library's rotate, so the
 * fixture does not share a mistake with the code it tests; sharp's own autoOrient checks it.
 */

const YELLOW: images.Rgb = { r: 255, g: 255, b: 0 };
const QUADRANTS = { topLeft: images.RED, topRight: images.GREEN, bottomLeft: images.BLUE, bottomRight: YELLOW };

/** Displayed (x, y) of stored (column c, row r), for a picture displayed `width` x `height`. */
const DISPLAYED: Record<number, (c: number, r: number, width: number, height: number) => [number, number]> = {
  1: (c, r) => [c, r],
  2: (c, r, w) => [w - 1 - c, r],
  3: (c, r, w, h) => [w - 1 - c, h - 1 - r],
  4: (c, r, _w, h) => [c, h - 1 - r],
  5: (c, r) => [r, c],
  6: (c, r, w) => [w - 1 - r, c],
  7: (c, r, w, h) => [w - 1 - r, h - 1 - c],
  8: (c, r, _w, h) => [r, h - 1 - c],
};

async function quadrantJpeg(width: number, height: number, orientation: number): Promise<Buffer> {
  const turned = orientation >= 5;
  const [storedWidth, storedHeight] = turned ? [height, width] : [width, height];
  const pixels = Buffer.alloc(storedWidth * storedHeight * 3);
  for (let r = 0; r < storedHeight; r++) {
    for (let c = 0; c < storedWidth; c++) {
      const [x, y] = DISPLAYED[orientation]!(c, r, width, height);
      const left = x < width / 2, top = y < height / 2;
      const colour = top ? (left ? QUADRANTS.topLeft : QUADRANTS.topRight) : (left ? QUADRANTS.bottomLeft : QUADRANTS.bottomRight);
      pixels.set([colour.r, colour.g, colour.b], (r * storedWidth + c) * 3);
    }
  }
  return sharp(pixels, { raw: { width: storedWidth, height: storedHeight, channels: 3 } })
    .jpeg({ quality: 90 })
    .withMetadata({ orientation })
    .toBuffer();
}

async function expectQuadrants(image: Uint8Array, side: number): Promise<void> {
  const at = (fx: number, fy: number) => images.pixelAt(image, Math.round(side * fx), Math.round(side * fy));
  expect(images.near(await at(0.25, 0.25), QUADRANTS.topLeft), 'top left').toBe(true);
  expect(images.near(await at(0.75, 0.25), QUADRANTS.topRight), 'top right').toBe(true);
  expect(images.near(await at(0.25, 0.75), QUADRANTS.bottomLeft), 'bottom left').toBe(true);
  expect(images.near(await at(0.75, 0.75), QUADRANTS.bottomRight), 'bottom right').toBe(true);
}

describe('processUpload: every EXIF orientation', () => {
  // 1600x1200 is cropped, then resized to the master; 1001x700 is only cropped, with an odd
  // margin; to a 300 master, 1600x1200 is shrunk by the JPEG decoder, resized, then cropped.
  describe.each([[1600, 1200, 1024], [1001, 700, 1024], [1600, 1200, 300]])('displayed %ix%i, master size %i', (width, height, masterSize) => {
    const side = Math.min(height, masterSize);
    it.each([1, 2, 3, 4, 5, 6, 7, 8])('shows orientation %i upright, centred and unmirrored', async (orientation) => {
      const input = await quadrantJpeg(width, height, orientation);
      expect((await sharp(input).metadata()).orientation).toBe(orientation);
      // The fixture as sharp's own implementation of the tag displays it.
      const reference = await sharp(input).autoOrient().png().toBuffer();
      expect(await sharp(reference).metadata()).toMatchObject({ width, height });
      await expectQuadrants(await sharp(reference).extract({ left: (width - height) >> 1, top: 0, width: height, height }).png().toBuffer(), height);

      const { result } = await processUpload(input, images.defaultLimits({ masterSize }));
      expect(result.side).toBe(side);
      const meta = await sharp(result.master).metadata();
      expect([meta.width, meta.height, meta.orientation, meta.exif]).toEqual([side, side, undefined, undefined]);
      await expectQuadrants(result.master, side);
    });
  });
});

describe('the two routes to a master', () => {
  // A photo takes the one-pass route; a source with an alpha channel or a profile converted
  // after the crop takes two passes. Both must turn, crop and scale the same way.
  describe.each([[1600, 1200, 1024, false], [1001, 700, 1024, false], [1600, 1200, 300, true]])('displayed %ix%i, master size %i', (width, height, masterSize, shrinks) => {
    it.each([1, 2, 3, 4, 5, 6, 7, 8])('give the same master for orientation %i', async (orientation) => {
      const input = await quadrantJpeg(width, height, orientation);
      const limits = images.defaultLimits({ masterSize });
      const probe = await probeImage(input, 'jpeg', limits);
      expect(onePass(probe)).toBe(true);
      expect(decoderShrinks('jpeg', probe, limits)).toBe(shrinks);
      const oneRoute = await transcodeMaster(input, 'jpeg', probe, limits);
      const twoRoutes = await encodeMaster(await decodeSquare(input, 'jpeg', probe, limits));
      expect(oneRoute.format).toBe(twoRoutes.format);
      await expectQuadrants(oneRoute.master, Math.min(height, masterSize));
      await expectQuadrants(twoRoutes.master, Math.min(height, masterSize));
      // Both are lossy encodes of the same square; apart from the quadrant edges they agree.
      expect(await images.meanDifference(oneRoute.master, twoRoutes.master)).toBeLessThan(1.5);
    });
  });
});
