export type { ActiveLookup, MetadataStore, PictureRecord, TokenRecord, UserRecord } from './port.js';
export { SqliteMetadataStore, type SqliteMetadataStoreOptions } from './embedded/sqlite-metadata-store.js';
