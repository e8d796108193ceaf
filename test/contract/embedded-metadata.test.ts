import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMetadataStore } from '../../src/metadata/embedded/sqlite-metadata-store.js';
import { describeMetadataStoreContract } from './metadata-store.case.js';

describeMetadataStoreContract('embedded (SQLite)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'onepic-metadata-'));
  // A nested path also checks that the store creates its parent directories.
  const store = new SqliteMetadataStore({ path: join(dir, 'data', 'metadata.db') });
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
