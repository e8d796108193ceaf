import sharp, { type Metadata } from 'sharp';
import { expect } from 'vitest';

/** Assertions on a server's answers that many end-to-end suites share: the contract's shapes. */

/** Asserts a JSON error response of the contract's shape, with this status and code. */
export function expectError(res: { status: number; headers: Headers; body: any }, status: number, code?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  expect(typeof res.body?.error?.code).toBe('string');
  expect(res.body.error.code).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(typeof res.body.error.message).toBe('string');
  if (code) expect(res.body.error.code).toBe(code);
}

/** Decodes an image and asserts it is `format`, `side` x `side`. */
export async function expectSquareImage(bytes: Uint8Array, side: number, format?: string): Promise<Metadata> {
  const meta = await sharp(bytes).metadata();
  expect({ width: meta.width, height: meta.height }).toEqual({ width: side, height: side });
  if (format) expect(meta.format).toBe(format);
  return meta;
}

/** The fields of a Picture, as the interface names them. */
const PICTURE_KEYS = ['active', 'bytes', 'createdAt', 'height', 'id', 'label', 'url', 'width'];

export function expectPicture(p: any): void {
  expect(Object.keys(p).sort()).toEqual(PICTURE_KEYS);
  expect(typeof p.id).toBe('string');
  expect(p.id.length).toBeGreaterThan(0);
  expect(typeof p.label).toBe('string');
  expect(typeof p.active).toBe('boolean');
  expect(Number.isInteger(p.width) && p.width > 0).toBe(true);
  expect(p.height).toBe(p.width);
  expect(Number.isInteger(p.bytes) && p.bytes > 0).toBe(true);
  expect(new Date(p.createdAt).toISOString()).toBe(p.createdAt);
  expect(p.url).toMatch(/^\/i\/[^/]+$/);
}
