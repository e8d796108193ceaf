import type { BlobStore } from './blobs/port.js';
import { FsBlobStore } from './blobs/fs/fs-blob-store.js';
import type { BlobsConfig, MetadataConfig } from './config/index.js';
import { SqliteMetadataStore } from './metadata/embedded/sqlite-metadata-store.js';
import type { MetadataStore } from './metadata/port.js';

/** Builds the metadata store the configuration names. */
export async function openMetadataStore(config: MetadataConfig): Promise<MetadataStore> {
  switch (config.kind) {
    case 'embedded':
      return new SqliteMetadataStore({ path: config.path });
    case 'cassandra':
      throw new Error('ONEPIC_METADATA=cassandra: the Cassandra backend is not in this build yet; use embedded.');
  }
}

/** Builds the blob store the configuration names. */
export async function openBlobStore(config: BlobsConfig): Promise<BlobStore> {
  switch (config.kind) {
    case 'fs':
      return FsBlobStore.open({ root: config.root });
    case 's3':
      throw new Error('ONEPIC_BLOBS=s3: the S3 backend is not in this build yet; use fs.');
  }
}
