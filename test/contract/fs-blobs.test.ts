import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/blobs/fs/fs-blob-store.js';
import { describeBlobStoreContract } from './blob-store.case.js';

describeBlobStoreContract('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'onepic-blobs-'));
  const store = await FsBlobStore.open({ root: join(dir, 'blobs') });
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
