import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/domain/errors.js';
import { checkMultipartLimits, MAX_PARTS, multipartPartsWatch } from '../../../src/http/multipart-limits.js';
import { multipart } from '../../support/http.js';

function codeOf(body: Buffer, contentType: string): string | undefined {
  try {
    checkMultipartLimits(body, contentType);
    return undefined;
  } catch (err) {
    return err instanceof AppError ? err.code : String(err);
  }
}

const field = (i: number) => ({ name: `f${i}`, value: 'v' });

describe('checkMultipartLimits', () => {
  it('passes the upload form, with a quoted boundary too', () => {
    const form = multipart([{ name: 'file', value: Buffer.alloc(1000, 1), filename: 'a.jpg', contentType: 'image/jpeg' }, { name: 'label', value: 'me' }]);
    expect(codeOf(form.body, form.contentType)).toBeUndefined();
    const boundary = form.contentType.split('boundary=')[1]!;
    expect(codeOf(form.body, `multipart/form-data; boundary="${boundary}"`)).toBeUndefined();
  });

  it(`passes ${MAX_PARTS} parts and refuses one more with too_many_parts`, () => {
    const most = multipart(Array.from({ length: MAX_PARTS }, (_, i) => field(i)));
    expect(codeOf(most.body, most.contentType)).toBeUndefined();
    const over = multipart(Array.from({ length: MAX_PARTS + 1 }, (_, i) => field(i)));
    expect(codeOf(over.body, over.contentType)).toBe('too_many_parts');
  });

  it('refuses a form of many tiny parts without reading past the limit', () => {
    const bomb = multipart(Array.from({ length: 10_000 }, (_, i) => field(i)));
    expect(codeOf(bomb.body, bomb.contentType)).toBe('too_many_parts');
  });

  it('refuses part headers over the limit, and a Content-Type without a boundary, as invalid_multipart', () => {
    const long = multipart([{ name: 'x'.repeat(2000), value: 'v' }]);
    expect(codeOf(long.body, long.contentType)).toBe('invalid_multipart');
    const unterminated = Buffer.from('--b\r\nContent-Disposition: form-data; name="file"');
    expect(codeOf(unterminated, 'multipart/form-data; boundary=b')).toBe('invalid_multipart');
    expect(codeOf(Buffer.from('x'), 'multipart/form-data')).toBe('invalid_multipart');
  });
});

/** Feeds `body` to the watch in pieces of `size` bytes; the code it refuses with, if any. */
function watchCode(body: Buffer, contentType: string, size: number): string | undefined {
  const watch = multipartPartsWatch(contentType)!;
  try {
    for (let at = 0; at < body.length; at += size) watch(body.subarray(at, at + size));
    return undefined;
  } catch (err) {
    return err instanceof AppError ? err.code : String(err);
  }
}

describe('multipartPartsWatch', () => {
  it.each([1, 7, 64, 100_000])('counts delimiters split across pieces of %i bytes', (size) => {
    const most = multipart(Array.from({ length: MAX_PARTS }, (_, i) => field(i)));
    expect(watchCode(most.body, most.contentType, size)).toBeUndefined();
    const over = multipart(Array.from({ length: MAX_PARTS + 1 }, (_, i) => field(i)));
    expect(watchCode(over.body, over.contentType, size)).toBe('too_many_parts');
  });

  it('passes an upload form whatever its file holds', () => {
    const form = multipart([{ name: 'file', value: Buffer.alloc(300_000, 0x2d), filename: 'a.jpg' }, { name: 'label', value: 'me' }]);
    expect(watchCode(form.body, form.contentType, 65_536)).toBeUndefined();
  });
});
