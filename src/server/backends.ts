import type { BlobStore } from '../blobs/port.js';
import { FsBlobStore } from '../blobs/fs/fs-blob-store.js';
import { S3BlobStore } from '../blobs/s3/s3-blob-store.js';
import type { BlobsConfig, MetadataConfig } from '../config/index.js';
import { CassandraMetadataStore } from '../metadata/cassandra/cassandra-metadata-store.js';
import { SqliteMetadataStore } from '../metadata/embedded/sqlite-metadata-store.js';
import type { MetadataStore } from '../metadata/port.js';

/** Builds the metadata store the configuration names. */
export async function openMetadataStore(config: MetadataConfig): Promise<MetadataStore> {
  switch (config.kind) {
    case 'embedded':
      return new SqliteMetadataStore({ path: config.path, reserveBytes: config.reserveBytes });
    case 'cassandra':
      return CassandraMetadataStore.open(config);
  }
}

/** A blob store and the housekeeping its backend needs beside the orphan sweep. */
export interface OpenedBlobStore {
  blobs: BlobStore;
  /** Runs with each sweep, e.g. removing temp files of crashed writes. */
  housekeeping: (graceMs: number) => Promise<void>;
}

/** Builds the blob store the configuration names. */
export async function openBlobStore(config: BlobsConfig): Promise<OpenedBlobStore> {
  switch (config.kind) {
    case 'fs': {
      const blobs = await FsBlobStore.open({ root: config.root, minFreeBytes: config.minFreeBytes });
      // A temp file lives for the milliseconds of one put; a minute's floor spares puts in flight.
      return { blobs, housekeeping: async (graceMs) => { await blobs.sweepTemp(Math.max(graceMs, 60_000)); } };
    }
    case 's3': {
      const blobs = await S3BlobStore.open(config);
      // Nothing to tidy: every object is one PutObject, which S3 applies whole or not at all, so
      // no multipart uploads or temp objects are ever left behind.
      return { blobs, housekeeping: async () => undefined };
    }
  }
}
