export { CassandraMetadataStore } from './cassandra-metadata-store.js';
export type { CassandraStoreConfig } from './client.js';
