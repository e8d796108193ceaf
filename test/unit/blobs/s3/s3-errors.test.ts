import { describe, expect, it } from 'vitest';
import { deleteObjectsError, isUnavailable, mapError } from '../../../../src/blobs/s3/s3-errors.js';
import { StoreUnavailableError } from '../../../../src/domain/errors.js';

// The S3 backend's one decision of which failures mean "the store cannot serve now" (503).

const sdkError = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('S3: isUnavailable and mapError', () => {
  it('counts 5xx, throttling, timeouts, a missing bucket and socket errors as unavailable', () => {
    for (const err of [
      sdkError('InternalError', 500), sdkError('SlowDown', 503), sdkError('TooManyRequests', 429), sdkError('RequestTimeout', 408),
      sdkError('NoSuchBucket', 404), sdkError('TimeoutError'), sdkError('AbortError'),
      Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
    ]) expect(isUnavailable(err), (err as Error).name).toBe(true);
  });

  it('lets a missing key, a refusal and a bug through as they are', () => {
    for (const err of [sdkError('NoSuchKey', 404), sdkError('AccessDenied', 403), new TypeError('bug')]) {
      expect(isUnavailable(err)).toBe(false);
      expect(mapError(err)).toBe(err);
    }
  });

  it('counts every failure of a readiness probe as unavailable, without wrapping twice', () => {
    const denied = sdkError('AccessDenied', 403);
    expect(mapError(denied, 'probing')).toBeInstanceOf(StoreUnavailableError);
    const down = new StoreUnavailableError('blobs', denied);
    expect(mapError(down, 'probing')).toBe(down);
  });

  it('calls a DeleteObjects answer unavailable only when every failed key failed transiently', () => {
    expect(deleteObjectsError([{ Key: 'a', Code: 'SlowDown' }, { Key: 'b', Code: 'InternalError' }])).toBeInstanceOf(StoreUnavailableError);
    const mixed = deleteObjectsError([{ Key: 'a', Code: 'SlowDown' }, { Key: 'b', Code: 'AccessDenied', Message: 'no' }]);
    expect(mixed).not.toBeInstanceOf(StoreUnavailableError);
    expect(String(mixed)).toMatch(/DeleteObjects failed for 2 keys, e\.g\. a: SlowDown/);
  });
});
