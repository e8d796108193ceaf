import { describe, expect, it } from 'vitest';
import { decodeFailure, endsEarly } from '../../../src/imaging/decode-errors.js';
import * as images from '../../fixtures/images.js';

describe('decodeFailure', () => {
  const bytes = new Uint8Array(64);

  it.each([
    'heif: Error while loading plugin: Support for this compression format has not been built in: HEVC (11.6003)',
    'heif: Unsupported feature: Unsupported codec (4.3000)',
  ])('answers 415 for a HEIC the decoder has no codec for: %s', (message) => {
    expect(decodeFailure(new Error(message), bytes, 'heif', 'pixels')).toMatchObject({ status: 415, code: 'unsupported_type' });
  });

  it('calls running out of data while decoding pixels truncation', () => {
    expect(decodeFailure(new Error('VipsJpeg: premature end of JPEG image'), bytes, 'jpeg', 'pixels'))
      .toMatchObject({ status: 422, code: 'truncated_image' });
  });

  it('does not call junk that fails in the header truncated', () => {
    expect(decodeFailure(new Error('VipsJpeg: premature end of JPEG image'), bytes, 'jpeg', 'header'))
      .toMatchObject({ status: 422, code: 'undecodable_image' });
  });

  it('keeps decoder internals out of the message', () => {
    const error = decodeFailure(new Error('gifload_buffer: Invalid frame data'), bytes, 'gif', 'pixels');
    expect(error.message).not.toMatch(/gifload/);
  });
});

describe('endsEarly', () => {
  it.each([
    ['jpeg', images.phoneJpeg] as const,
    ['png', images.opaquePng] as const,
    ['gif', images.gif] as const,
    ['webp', images.webp] as const,
  ])('knows a whole %s from one cut short', async (format, make) => {
    const whole = await make();
    expect(endsEarly(whole, format)).toBe(false);
    expect(endsEarly(whole.subarray(0, whole.length - 3), format)).toBe(true);
  });
});
