import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { PlaceholderKind } from '../../../src/domain/imaging.js';
import type { RenditionFormat } from '../../../src/domain/keys.js';
import { initialsOf } from '../../../src/imaging/placeholder-svg.js';
import { renderPlaceholder } from '../../../src/imaging/placeholders.js';
import * as images from '../../fixtures/images.js';

// Every kind; the compiler refuses this record if a kind is added to PlaceholderKind and not here.
const KINDS = Object.keys({ mp: 1, identicon: 1, initials: 1, blank: 1 } satisfies Record<PlaceholderKind, 1>) as PlaceholderKind[];

const SHARP_FORMAT: Record<RenditionFormat, string> = { jpeg: 'jpeg', png: 'png', webp: 'webp', avif: 'heif' };

/** Distinct colours in an image, a rough measure of "something is drawn here". */
async function colourCount(image: Uint8Array): Promise<number> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const seen = new Set<string>();
  for (let i = 0; i < data.length; i += info.channels) seen.add(data.subarray(i, i + info.channels).join(','));
  return seen.size;
}

describe('renderPlaceholder', () => {
  it.each(KINDS.flatMap((kind) => (['jpeg', 'png', 'webp', 'avif'] as const).map((format) => [kind, format] as const)))(
    '%s as %s is exactly the requested size',
    async (kind, format) => {
      for (const size of [1, 37, 256]) {
        const meta = await sharp(await renderPlaceholder(kind, 'arpit-b', size, format)).metadata();
        expect([meta.format, meta.width, meta.height]).toEqual([SHARP_FORMAT[format], size, size]);
      }
    },
  );

  it('draws the mystery person the same for everyone, with a head above the shoulders', async () => {
    const a = await renderPlaceholder('mp', 'alice', 100, 'png');
    const b = await renderPlaceholder('mp', 'bob', 100, 'png');
    expect(await images.meanDifference(a, b)).toBe(0);
    const background = await images.pixelAt(a, 3, 3);
    expect(images.near(await images.pixelAt(a, 50, 38), background, 10)).toBe(false); // head
    expect(images.near(await images.pixelAt(a, 50, 95), background, 10)).toBe(false); // shoulders
    expect(images.near(await images.pixelAt(a, 50, 58), background, 10)).toBe(true); // neck gap
  });

  it('makes identicons deterministic per seed and different between seeds', async () => {
    const first = await renderPlaceholder('identicon', 'arpit', 120, 'png');
    const again = await renderPlaceholder('identicon', 'arpit', 120, 'png');
    const other = await renderPlaceholder('identicon', 'arpitb', 120, 'png');
    expect(await images.meanDifference(first, again)).toBe(0);
    expect(await images.meanDifference(first, other)).toBeGreaterThan(5);
  });

  it('mirrors identicons left to right', async () => {
    const png = await renderPlaceholder('identicon', 'mirror-me', 120, 'png');
    const flopped = await sharp(png).flop().png().toBuffer();
    expect(await images.meanDifference(png, flopped)).toBeLessThan(1);
  });

  it('draws initials as text on a seed-coloured background', async () => {
    const png = await renderPlaceholder('initials', 'arpit-b', 128, 'png');
    const corner = await images.pixelAt(png, 2, 2);
    // The letters are white and sit in the middle third.
    const { data, info } = await sharp(png).removeAlpha().extract({ left: 32, top: 32, width: 64, height: 64 }).raw()
      .toBuffer({ resolveWithObject: true });
    let white = 0;
    for (let i = 0; i < data.length; i += info.channels) if ((data[i] ?? 0) > 240 && (data[i + 1] ?? 0) > 240 && (data[i + 2] ?? 0) > 240) white++;
    expect(white).toBeGreaterThan(100);
    expect(images.near(corner, { r: 255, g: 255, b: 255 }, 30)).toBe(false);
    const other = await renderPlaceholder('initials', 'zed', 128, 'png');
    expect(images.near(await images.pixelAt(other, 2, 2), corner, 5)).toBe(false);
  });

  it.each([
    ['arpit-b', 'AB'],
    ['arpit', 'A'],
    ['Mary_Jane.Watson', 'MJ'],
    ['x9-y-z', 'XY'],
    ['--', ''],
    ['<script>', 'S'],
  ])('takes the initials of %j as %j', (seed, letters) => {
    expect(initialsOf(seed)).toBe(letters);
  });

  it('makes blank fully transparent, and white in JPEG', async () => {
    const { data } = await sharp(await renderPlaceholder('blank', 'x', 16, 'png')).raw().toBuffer({ resolveWithObject: true });
    expect(Math.max(...data.filter((_, i) => i % 4 === 3))).toBe(0);
    const jpeg = await renderPlaceholder('blank', 'x', 16, 'jpeg');
    expect(images.near(await images.pixelAt(jpeg, 8, 8), { r: 255, g: 255, b: 255 }, 2)).toBe(true);
    expect(await colourCount(jpeg)).toBe(1);
  });
});
