import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { StoreUnavailableError } from '../../domain/errors.js';
import { checkDeletePrefix, checkKey, checkListPrefix } from '../keys.js';
import type { BlobInfo, BlobStore } from '../port.js';
import { buildS3Client, checkCredentials, S3_TIMEOUTS, type S3BlobStoreOptions, type S3Timeouts } from './s3-client.js';
import { deleteObjectsError, isMissingKey, mapError, statusOf } from './s3-errors.js';

export type { S3BlobStoreOptions } from './s3-client.js';

/**
 * How often a put starts over: after a 409 (another put of the same key is in flight) or when
 * the key it found existing is deleted before its modification time could be refreshed.
 */
const PUT_ROUNDS = 5;

/**
 * Blobs as objects of one S3 bucket, the object key being the configured prefix and the key.
 * Below its prefix the bucket must be this deployment's alone: list('') is what the orphan
 * sweeper walks, and it would judge any other object it found there too.
 *
 * Every object is written by one PutObject (a master is at most the upload limit, far below
 * S3's 5 GB for a single put), which S3 makes visible whole or not at all: nothing multipart is
 * ever left behind to clean up. Build it with `await S3BlobStore.open()`.
 */
export class S3BlobStore implements BlobStore {
  private constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly timeouts: S3Timeouts,
  ) {}

  /**
   * Checks that credentials are there, but does not contact the store: OnePic starts while S3 is
   * down and reports it through readiness (ping) until it answers.
   */
  static async open(options: S3BlobStoreOptions): Promise<S3BlobStore> {
    // The same rule as a delete prefix: whole key segments, each ending with '/'.
    if (options.prefix !== '') checkDeletePrefix(options.prefix);
    const timeouts = { ...S3_TIMEOUTS, ...options.timeouts };
    const client = buildS3Client(options, timeouts);
    try {
      await checkCredentials(client);
    } catch (err) {
      client.destroy();
      throw err;
    }
    return new S3BlobStore(client, options.bucket, options.prefix, timeouts);
  }

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    checkKey(key);
    // S3 checks the body against it and refuses a corrupted one; stored with the object, it is
    // also what get() checks the bytes it reads against.
    const checksum = createHash('sha256').update(bytes).digest('base64');
    for (let round = 1; ; round++) {
      const outcome = await this.putIfAbsent(key, bytes, contentType, checksum);
      if (outcome === 'stored') return;
      // It exists: restart the sweeper's grace period, as the port asks.
      if (outcome === 'exists' && (await this.touch(key, contentType))) return;
      // A concurrent put of this key was in flight (the next round finds it stored), or the
      // object was deleted between the 412 and the copy (the next round writes it again).
      if (round >= PUT_ROUNDS) {
        const why = outcome === 'conflict' ? 'conflicting with a concurrent put' : 'deleted before it could be refreshed';
        throw new StoreUnavailableError('blobs', new Error(`put ${key}: still ${why} after ${round} rounds`));
      }
      await sleep(50 * round);
    }
  }

  async get(key: string): Promise<Buffer | null> {
    checkKey(key);
    try {
      // ChecksumMode makes the SDK verify the bytes against the SHA-256 stored by put().
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, ChecksumMode: 'ENABLED' }), this.deadline());
      // The whole body, as the port asks: objects are images, bounded by the upload limit.
      const bytes = await out.Body!.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      if (isMissingKey(err)) return null;
      throw mapError(err);
    }
  }

  async head(key: string): Promise<BlobInfo | null> {
    checkKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), this.deadline());
      return { key, size: out.ContentLength ?? 0, modifiedAt: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (isMissingKey(err)) return null;
      throw mapError(err);
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    // S3 answers 204 for a missing key as well.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), this.deadline()).catch(rethrowMapped);
  }

  async deletePrefix(prefix: string): Promise<void> {
    checkDeletePrefix(prefix);
    // A page holds at most 1000 keys, which is also the most one DeleteObjects takes. Deleting a
    // page before fetching the next is safe: the continuation token resumes after the page's
    // last key, whether or not the keys before it still exist.
    for await (const page of this.pages(prefix)) {
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length === 0) continue;
      const out = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
        this.deadline(),
      ).catch(rethrowMapped);
      // Quiet: only failures are listed. A missing key is not one (S3 counts it as deleted).
      const failed = out.Errors ?? [];
      if (failed.length > 0) throw deleteObjectsError(failed);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    checkListPrefix(prefix);
    for await (const page of this.pages(prefix)) {
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: o.Key.slice(this.prefix.length), size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
      }
    }
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), this.deadline(this.timeouts.pingMs));
    } catch (err) {
      throw mapError(err, 'probing');
    }
  }

  async close(): Promise<void> {
    // Closes the keep-alive sockets, which would otherwise hold the process open for a while.
    this.client.destroy();
  }

  /** One conditional PutObject: written once, since an existing object has these very bytes. */
  private async putIfAbsent(key: string, bytes: Uint8Array, contentType: string, checksum: string): Promise<'stored' | 'exists' | 'conflict'> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket, Key: this.prefix + key, Body: bytes, ContentType: contentType, ChecksumSHA256: checksum, IfNoneMatch: '*',
        }),
        this.deadline(),
      );
      return 'stored';
    } catch (err) {
      // 412 PreconditionFailed: the key exists. 409 ConditionalRequestConflict: another
      // conditional write of the key is in flight.
      if (statusOf(err) === 412) return 'exists';
      if (statusOf(err) === 409) return 'conflict';
      throw mapError(err);
    }
  }

  /**
   * Renews the object's LastModified by copying it onto itself. S3 refuses a self-copy that
   * changes nothing; replacing the metadata (with the same content type) is the change.
   * False when the object is gone.
   */
  private async touch(key: string, contentType: string): Promise<boolean> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket, Key: this.prefix + key, ContentType: contentType, MetadataDirective: 'REPLACE',
          // Keys and prefix are checked to [a-z0-9._/-], none of which needs URL-encoding here.
          CopySource: `${this.bucket}/${this.prefix}${key}`,
        }),
        this.deadline(),
      );
      return true;
    } catch (err) {
      if (isMissingKey(err)) return false;
      throw mapError(err);
    }
  }

  /**
   * The SDK's timeouts hold per attempt; the deadline bounds the whole operation, retries and
   * back-off included.
   */
  private deadline(ms = this.timeouts.operationMs): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(ms) };
  }

  /** ListObjectsV2 pages of the object keys under `prefix` (below the store's own), in turn. */
  private async *pages(prefix: string): AsyncGenerator<ListObjectsV2CommandOutput> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: (this.prefix + prefix) || undefined, ContinuationToken: token, MaxKeys: 1000 }),
        this.deadline(),
      ).catch(rethrowMapped);
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}

function rethrowMapped(err: unknown): never {
  throw mapError(err);
}
