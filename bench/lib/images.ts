/** The benchmarks' source images, made with sharp so that every run uploads the same kind of picture. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp, { type Create } from 'sharp';

export const PHONE_JPEG = 'JPEG q85, EXIF orientation 6, Make/Model, GPS';

/** An RGB image of gaussian noise around mid-grey; sharp's types ask for a background that noise never uses. */
const gaussian = (width: number, height: number, sigma: number): Create =>
  ({ width, height, channels: 3, noise: { type: 'gaussian', mean: 128, sigma } }) as Create;

/** Phone-style JPEGs: smooth colour blobs plus sensor-like noise, EXIF orientation 6, make/model, GPS. */
export async function phoneJpegs(n: number, width = 1600, height = 1200, sigma = 8): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const blobs = await sharp({ create: gaussian(40, 30, 60) }).png().toBuffer();
    const px = await sharp(blobs).resize(width, height, { kernel: 'cubic' }).raw().toBuffer();
    const noise = await sharp({ create: gaussian(width, height, sigma) }).raw().toBuffer();
    for (let j = 0; j < px.length; j++) {
      const v = (px[j] ?? 0) + (noise[j] ?? 128) - 128;
      px[j] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    out.push(await sharp(px, { raw: { width, height, channels: 3 } })
      .withExif({
        IFD0: { Make: 'Apple', Model: 'iPhone 13 Pro', Software: '17.1', DateTime: '2026:11:23 12:00:00' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: `48/1 51/1 ${2900 + i}/100`, GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 300/100' },
      })
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 85 }).toBuffer());
  }
  return out;
}

/** A square of random noise as a JPEG: every one distinct, and cheap to make. */
export function noiseJpeg(side: number): Promise<Buffer> {
  const px = Buffer.from(Array.from({ length: side * side * 3 }, () => Math.floor(Math.random() * 256)));
  return sharp(px, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
}

/** What a set of phone JPEGs is, for the conditions of a run. */
export function describeImages(images: Buffer[], width = 1600, height = 1200): {
  count: number; width: number; height: number; format: string; bytes_min: number; bytes_max: number; bytes_mean: number;
} {
  const sizes = images.map((b) => b.length);
  return {
    count: images.length, width, height, format: PHONE_JPEG,
    bytes_min: Math.min(...sizes), bytes_max: Math.max(...sizes), bytes_mean: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length),
  };
}

/** Writes images into a temp dir, for a generator in another process; remove() deletes them. */
export function imageFiles(images: Buffer[]): { files: string[]; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'onepic-bench-img-'));
  const files = images.map((b, i) => {
    const f = join(dir, `${i}.jpg`);
    writeFileSync(f, b);
    return f;
  });
  return { files, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
