import type { BlobStore } from '../blobs/port.js';
import type { Config } from '../config/index.js';
import type { MetadataStore } from '../metadata/port.js';
import { instrumentBlobStore, instrumentMetadataStore } from '../metrics/instrumented-stores.js';
import type { Metrics } from '../metrics/metrics.js';
import { openBlobStore, openMetadataStore, type OpenedBlobStore } from './backends.js';

/** The stores the configuration names, as everything above the ports sees them. */
export interface Stores {
  store: MetadataStore;
  blobs: BlobStore;
  housekeeping: OpenedBlobStore['housekeeping'];
}

/** Opens both stores, instrumented, so every operation on them is timed and counted. */
export async function wireStores(config: Config, metrics: Metrics): Promise<Stores> {
  const store = instrumentMetadataStore(await openMetadataStore(config.metadata), config.metadata.kind, metrics);
  const opened = await openBlobStore(config.blobs);
  const blobs = instrumentBlobStore(opened.blobs, config.blobs.kind, metrics);
  return { store, blobs, housekeeping: opened.housekeeping };
}
