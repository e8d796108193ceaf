import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { colourHandling, describesSrgb } from '../../../src/imaging/colour-profile.js';

/** The ICC profile sharp embeds for one of its built-in names ('srgb', 'p3', 'cmyk'). */
async function builtInProfile(name: string): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).withIccProfile(name).jpeg().toBuffer();
  const { icc } = await sharp(jpeg).metadata();
  if (!icc) throw new Error(`Expected an ICC profile for ${name} but received none`);
  return icc;
}

/** Byte offset of a tag's data, from the tag table. */
function tagOffset(icc: Buffer, tag: string): number {
  for (let i = 0; i < icc.readUInt32BE(128); i++) {
    if (icc.toString('latin1', 132 + 12 * i, 136 + 12 * i) === tag) return icc.readUInt32BE(136 + 12 * i);
  }
  throw new Error(`Expected a ${tag} tag but received none`);
}

/** A 'curv' tag: a table of `entries` (0..65535), or with one entry, a u8.8 gamma. */
function curv(entries: number[]): Buffer {
  const tag = Buffer.alloc(12 + 2 * entries.length);
  tag.write('curv', 0, 'latin1');
  tag.writeUInt32BE(entries.length, 8);
  entries.forEach((value, i) => tag.writeUInt16BE(value, 12 + 2 * i));
  return tag;
}

/** A copy of `icc` whose three tone curves point at `tag`, appended at the end. */
function withCurve(icc: Buffer, tag: Buffer): Buffer {
  const out = Buffer.concat([icc, tag]);
  for (let i = 0; i < out.readUInt32BE(128); i++) {
    if (['rTRC', 'gTRC', 'bTRC'].includes(out.toString('latin1', 132 + 12 * i, 136 + 12 * i))) {
      out.writeUInt32BE(icc.length, 136 + 12 * i);
      out.writeUInt32BE(tag.length, 140 + 12 * i);
    }
  }
  out.writeUInt32BE(out.length, 0);
  return out;
}

const table = (n: number, linear: (v: number) => number) => Array.from({ length: n }, (_, i) => Math.round(linear(i / (n - 1)) * 65535));
const srgbToLinear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);

let srgb: Buffer;
let p3: Buffer;
let cmyk: Buffer;
beforeAll(async () => {
  [srgb, p3, cmyk] = await Promise.all(['srgb', 'p3', 'cmyk'].map(builtInProfile)) as [Buffer, Buffer, Buffer];
});

describe('describesSrgb', () => {
  it('recognises an sRGB profile with a parametric curve (libvips\' own, as sharp writes it)', () => {
    expect(describesSrgb(srgb)).toBe(true);
  });

  it('recognises an sRGB profile whose curve is a 1024-entry table (the classic HP/Microsoft profile)', () => {
    expect(describesSrgb(withCurve(srgb, curv(table(1024, srgbToLinear))))).toBe(true);
  });

  it('refuses other primaries: Display P3 shares sRGB\'s curve but not its colours', () => {
    expect(describesSrgb(p3)).toBe(false);
  });

  it('refuses another tone curve: sRGB primaries with a plain 2.2 gamma', () => {
    expect(describesSrgb(withCurve(srgb, curv([Math.round(2.2 * 256)])))).toBe(false);
    expect(describesSrgb(withCurve(srgb, curv(table(256, (v) => v ** 2.2))))).toBe(false);
    expect(describesSrgb(withCurve(srgb, curv([])))).toBe(false); // no entries: linear
  });

  it('refuses a profile that littleCMS would read through a lookup table', () => {
    const lut = Buffer.from(srgb);
    lut.write('A2B0', 132 + 12 * 1, 'latin1'); // rename the second tag (cprt)
    expect(describesSrgb(lut)).toBe(false);
  });

  it('refuses CMYK, and anything truncated or not a profile at all', () => {
    expect(describesSrgb(cmyk)).toBe(false);
    expect(describesSrgb(srgb.subarray(0, tagOffset(srgb, 'rTRC')))).toBe(false);
    expect(describesSrgb(Buffer.alloc(0))).toBe(false);
    expect(describesSrgb(Buffer.from('not an icc profile at all, just some text long enough to have a header'.repeat(3)))).toBe(false);
  });
});

describe('colourHandling', () => {
  const rgb = { space: 'srgb', channels: 3 } as const;

  it('leaves images without a profile, or with an sRGB one, as they are', () => {
    expect(colourHandling({ ...rgb, icc: undefined })).toBe('none');
    expect(colourHandling({ ...rgb, icc: srgb })).toBe('none');
    expect(colourHandling({ ...rgb, channels: 4, icc: srgb })).toBe('none');
  });

  it('converts RGB(A) with another profile, 8 or 16 bits, after the crop', () => {
    expect(colourHandling({ ...rgb, icc: p3 })).toBe('after-crop');
    expect(colourHandling({ ...rgb, channels: 4, icc: p3 })).toBe('after-crop');
    expect(colourHandling({ space: 'rgb16', channels: 3, icc: p3 })).toBe('after-crop');
    expect(colourHandling({ space: 'rgb16', channels: 4, icc: srgb })).toBe('none');
  });

  it('converts CMYK and greyscale images with a profile at load, as sharp does by default', () => {
    expect(colourHandling({ space: 'cmyk', channels: 4, icc: cmyk })).toBe('at-load');
    expect(colourHandling({ space: 'b-w', channels: 1, icc: srgb })).toBe('at-load');
  });
});
