import { StoreUnavailableError } from '../../domain/errors.js';

/**
 * Telling "no such key" from "the store is down" is the point of this file: a missing key is
 * an answer (null, or a write that must happen again), a store that does not answer is a 503
 * (StoreUnavailableError), and anything else is a bug or a misconfiguration that should reach
 * the edge as a 500 with its stack logged.
 */

interface SdkError {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** The HTTP status S3 answered with; undefined when no answer came (refused, reset, timed out). */
export function statusOf(err: unknown): number | undefined {
  return (err as SdkError | null)?.$metadata?.httpStatusCode;
}

function nameOf(err: unknown): string | undefined {
  const name = (err as SdkError | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * The key is not there. GetObject and CopyObject say NoSuchKey; HeadObject has no body to say
 * anything in, so its 404 is named NotFound. A missing bucket (NoSuchBucket) is not a missing
 * key: it means the store cannot serve at all.
 */
export function isMissingKey(err: unknown): boolean {
  const name = nameOf(err);
  return statusOf(err) === 404 && (name === 'NoSuchKey' || name === 'NotFound');
}

/** What S3 names its 5xx and throttling answers, in the per-key failures of DeleteObjects. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['InternalError', 'ServiceUnavailable', 'SlowDown']);

/**
 * The one place the S3 store decides which failures mean "S3 is not answering": an SDK error,
 * a socket error, or one key's failure in a DeleteObjects answer (`{ Key, Code, Message }`).
 */
export function isUnavailable(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined) {
    // 5xx and throttling remain after the SDK's retries; 408 is S3's RequestTimeout.
    return status >= 500 || status === 429 || status === 408 || nameOf(err) === 'NoSuchBucket';
  }
  // A DeleteObjects entry carries S3's error code, capitalised, and no status.
  const s3Code = (err as { Code?: unknown } | null)?.Code;
  if (typeof s3Code === 'string') return TRANSIENT_CODES.has(s3Code);
  // No answer at all. Node's socket errors carry a string code (ECONNREFUSED, ECONNRESET, EPIPE,
  // ENOTFOUND, ERR_STREAM_PREMATURE_CLOSE, ...); the SDK's timeouts are named TimeoutError, and
  // the per-operation deadline aborts with AbortError. A plain Error without either (a checksum
  // mismatch, a bad argument) is not the store being down.
  const name = nameOf(err);
  return name === 'TimeoutError' || name === 'AbortError' || typeof (err as SdkError | null)?.code === 'string';
}

/**
 * Wraps the errors that mean "S3 is not answering"; others are returned as they are. A readiness
 * probe counts every failure (down, bucket gone, credentials refused) as the store not serving.
 */
export function mapError(err: unknown, when: 'serving' | 'probing' = 'serving'): unknown {
  if (err instanceof StoreUnavailableError) return err;
  return when === 'probing' || isUnavailable(err) ? new StoreUnavailableError('blobs', err) : err;
}

/** The error for a DeleteObjects answer listing failed keys: unavailable if every failure is. */
export function deleteObjectsError(failed: ReadonlyArray<{ Key?: string; Code?: string; Message?: string }>): unknown {
  const first = failed[0]!;
  const cause = new Error(`DeleteObjects failed for ${failed.length} keys, e.g. ${first.Key}: ${first.Code} ${first.Message}`);
  return failed.every(isUnavailable) ? new StoreUnavailableError('blobs', cause) : cause;
}
