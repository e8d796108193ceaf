/**
 * The blob port: immutable, content-addressed objects. Keys are written once; writing a key
 * that exists already is a success (the content is the same by construction). Keys look like
 * `arpit/<hash>/master` (no extension, whatever the master's format) and `arpit/<hash>/256.webp`
 * (built by domain/keys.ts, checked by blobs/keys.ts), so everything derived from one master
 * shares the prefix `arpit/<hash>/`.
 */

export interface BlobInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

export interface BlobStore {
  /**
   * Stores the bytes durably and atomically: after it resolves the whole object is readable,
   * and a crash at any point leaves either the whole object or none. If the key exists, it
   * refreshes its modification time (so the sweeper's grace period starts again) and succeeds.
   */
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** The whole object, or null when there is no such key. */
  get(key: string): Promise<Buffer | null>;
  head(key: string): Promise<BlobInfo | null>;
  /** Deletes the key; deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** Deletes every key that starts with `prefix` (which must end with `/`). */
  deletePrefix(prefix: string): Promise<void>;
  /** Every key that starts with `prefix` ('' for all), in no particular order. */
  list(prefix: string): AsyncIterable<BlobInfo>;

  /** Answers when the store can serve; throws StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
