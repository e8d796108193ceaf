export type { BlobInfo, BlobStore } from './port.js';
export { FsBlobStore, type FsBlobStoreOptions } from './fs/fs-blob-store.js';
