import type { Metadata } from 'sharp';

/**
 * How an upload's embedded ICC profile is honoured. Masters are stored as plain sRGB with no
 * profile, so pixels in any other colour space must be converted before the profile is dropped.
 *
 * The conversion (littleCMS, through libvips) was the most expensive step of a typical upload
 * when it ran on the whole source, as sharp does by default: about 15 ms for a 2-megapixel JPEG
 * tagged sRGB (where it changes no pixel at all) and 30 ms for one tagged Display P3, against
 * 11 ms for the JPEG decode itself, and it grows with the source. So it runs only when it
 * changes something, and then on the cropped square rather than on the whole source:
 *
 * - 'none': no profile, or one that describes sRGB itself (the usual camera and browser
 *   export). The profile is ignored; the pixels already are what the master stores.
 * - 'after-crop': an RGB(A) image with any other profile (Display P3 from iPhones, Adobe
 *   RGB). It is cropped, resized and reduced to 8 bits in its own colour space, then converted.
 *   Both spaces are gamma-encoded, so resampling before or after the conversion differs by
 *   rounding only.
 * - 'at-load': CMYK and greyscale images with a profile. Rare; sharp converts them when they
 *   are loaded.
 *
 * 16-bit RGB takes the first two routes too: sharp's own handling converts it to Display P3
 * (its working space for 16-bit images) and never on to sRGB, which the master needs.
 */
export type ColourHandling = 'none' | 'after-crop' | 'at-load';

export function colourHandling(meta: Pick<Metadata, 'icc' | 'space' | 'channels'>): ColourHandling {
  if (!meta.icc) return 'none';
  const rgb = (meta.space === 'srgb' || meta.space === 'rgb16') && (meta.channels === 3 || meta.channels === 4);
  if (!rgb) return 'at-load';
  return describesSrgb(meta.icc) ? 'none' : 'after-crop';
}

// sRGB's primaries adapted to the D50 profile connection space, as ICC matrix/TRC profiles store them.
const SRGB_COLORANTS: Readonly<Record<string, readonly number[]>> = {
  rXYZ: [0.4361, 0.2225, 0.0139],
  gXYZ: [0.3851, 0.7169, 0.0971],
  bXYZ: [0.1431, 0.0606, 0.7141],
};
// Published sRGB profiles differ from these in the fourth decimal (rounding, adaptation method).
const COLORANT_TOLERANCE = 0.002;
// How far, in 8-bit levels, a tone curve may stray from sRGB's and still count as sRGB.
const TRC_TOLERANCE_LEVELS = 0.5;
// Tags that make littleCMS use a lookup table instead of the matrix and curves checked here.
const LUT_TAGS = ['A2B0', 'A2B1', 'A2B2', 'D2B0', 'D2B1', 'D2B2'];

/**
 * Whether an ICC profile is an RGB matrix/TRC profile with sRGB's primaries and tone curve, so
 * that converting from it to sRGB would move no 8-bit value by more than about one level.
 * Anything it cannot parse, or does not recognise, is "not sRGB": the safe answer, since it only
 * costs a conversion.
 */
export function describesSrgb(icc: Uint8Array): boolean {
  try {
    const view = new DataView(icc.buffer, icc.byteOffset, icc.byteLength);
    if (icc.byteLength < 132 || signature(view, 16) !== 'RGB ' || signature(view, 20) !== 'XYZ ') return false;
    const tags = readTagTable(view);
    if (LUT_TAGS.some((tag) => tags.has(tag))) return false;
    for (const [tag, expected] of Object.entries(SRGB_COLORANTS)) {
      const at = tags.get(tag);
      if (at === undefined || signature(view, at) !== 'XYZ ') return false;
      for (let i = 0; i < 3; i++) {
        if (Math.abs(view.getInt32(at + 8 + 4 * i) / 65536 - (expected[i] ?? 0)) > COLORANT_TOLERANCE) return false;
      }
    }
    return ['rTRC', 'gTRC', 'bTRC'].every((tag) => {
      const at = tags.get(tag);
      return at !== undefined && isSrgbCurve(toneCurve(view, at));
    });
  } catch {
    // A DataView read past the end: a truncated or lying profile.
    return false;
  }
}

function signature(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}

function readTagTable(view: DataView): Map<string, number> {
  const tags = new Map<string, number>();
  const count = view.getUint32(128);
  if (count > 100) throw new RangeError('implausible tag count');
  for (let i = 0; i < count; i++) tags.set(signature(view, 132 + 12 * i), view.getUint32(132 + 12 * i + 4));
  return tags;
}

/** The tone curve of a 'curv' or 'para' tag as a function from encoded [0, 1] to linear [0, 1]. */
function toneCurve(view: DataView, at: number): ((x: number) => number) | undefined {
  const type = signature(view, at);
  if (type === 'curv') {
    const n = view.getUint32(at + 8);
    if (n === 0) return (x) => x;
    if (n === 1) {
      const gamma = view.getUint16(at + 12) / 256;
      return (x) => x ** gamma;
    }
    const table = Array.from({ length: n }, (_, i) => view.getUint16(at + 12 + 2 * i) / 65535);
    return (x) => {
      const pos = x * (n - 1);
      const i = Math.min(Math.floor(pos), n - 2);
      return (table[i] ?? 0) + ((table[i + 1] ?? 0) - (table[i] ?? 0)) * (pos - i);
    };
  }
  if (type === 'para') {
    const kind = view.getUint16(at + 8);
    const count = [1, 3, 4, 5, 7][kind];
    if (count === undefined) return undefined;
    const p = Array.from({ length: 7 }, (_, i) => (i < count ? view.getInt32(at + 12 + 4 * i) / 65536 : 0));
    const [g = 1, a = 1, b = 0, c = 0, d = 0, e = 0, f = 0] = p;
    const power = (x: number) => (a * x + b > 0 ? (a * x + b) ** g : 0);
    switch (kind) {
      case 0: return (x) => x ** g;
      case 1: return (x) => (x >= -b / a ? power(x) : 0);
      case 2: return (x) => (x >= -b / a ? power(x) + c : c);
      case 3: return (x) => (x >= d ? power(x) : c * x);
      default: return (x) => (x >= d ? power(x) + e : c * x + f);
    }
  }
  return undefined;
}

function isSrgbCurve(curve: ((x: number) => number) | undefined): boolean {
  if (!curve) return false;
  for (let level = 0; level <= 255; level++) {
    const linear = Math.min(1, Math.max(0, curve(level / 255)));
    if (!(Math.abs(srgbEncode(linear) * 255 - level) <= TRC_TOLERANCE_LEVELS)) return false;
  }
  return true;
}

function srgbEncode(linear: number): number {
  return linear <= 0.0031308 ? 12.92 * linear : 1.055 * linear ** (1 / 2.4) - 0.055;
}
