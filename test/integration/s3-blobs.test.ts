import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobInfo } from '../../src/blobs/port.js';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/blobs/s3/s3-blob-store.js';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import { describeBlobStoreContract } from '../contract/blob-store.case.js';
import { collect } from '../support/stores.js';
import { sleep } from '../support/timing.js';

/**
 * The blob contract and S3-specific behaviour against a real S3: the MinIO of
 * `npm run services:up`, found through the environment or, where a variable is unset, through
 * the `.services/env` that command writes. Without it every case fails, saying so.
 */
loadServicesEnv();
const endpoint = process.env.ONEPIC_S3_ENDPOINT ?? 'http://127.0.0.1:9000';
const bucket = process.env.ONEPIC_S3_BUCKET ?? 'onepic';
const region = process.env.ONEPIC_S3_REGION ?? 'us-east-1';
// This run's own corner of a bucket that other runs and the e2e servers share.
const runPrefix = `it-s3-${randomBytes(6).toString('hex')}/`;

const options = (overrides: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions =>
  ({ endpoint, bucket, region, forcePathStyle: true, prefix: runPrefix, ...overrides });

/** A store on the real MinIO, or an error that says what to do about its absence. */
async function openLive(overrides: Partial<S3BlobStoreOptions> = {}): Promise<S3BlobStore> {
  const store = await S3BlobStore.open(options(overrides));
  try {
    await store.ping();
  } catch (err) {
    await store.close();
    throw new Error(`No S3 answering at ${endpoint} with bucket ${bucket}: start it with \`npm run services:up\``, { cause: err });
  }
  return store;
}

afterAll(async () => {
  const root = await openLive({ prefix: '' });
  await root.deletePrefix(runPrefix);
  await root.close();
});

describeBlobStoreContract('s3', async () => ({ store: await openLive(), cleanup: async () => undefined }));

describe('S3BlobStore on MinIO', () => {
  let store: S3BlobStore;
  beforeAll(async () => { store = await openLive(); });
  afterAll(async () => { await store?.close(); });

  it('writes a key once: a second put with other bytes keeps the first, and refreshes its time', async () => {
    const key = `once-${randomBytes(4).toString('hex')}/h1/master`;
    const first = Buffer.from('the first bytes');
    await store.put(key, first, 'image/jpeg');
    const before = (await store.head(key))!.modifiedAt;
    await sleep(1_100); // S3 keeps modification times to the second
    await store.put(key, Buffer.from('other bytes, same key'), 'image/jpeg');
    expect((await store.get(key))!.equals(first)).toBe(true);
    expect((await store.head(key))!.modifiedAt.getTime()).toBeGreaterThan(before.getTime());
  });

  it('keeps keys below its prefix, and lists only what is below it', async () => {
    const key = `prefixed-${randomBytes(4).toString('hex')}/h1/64.png`;
    const other = await openLive({ prefix: `${runPrefix}other/` });
    try {
      await store.put(key, randomBytes(8), 'image/png');
      await other.put(key, randomBytes(8), 'image/png');
      const root = await openLive({ prefix: '' });
      expect(await root.head(`${runPrefix}${key}`)).toMatchObject({ size: 8 });
      await root.close();
      expect((await collect(other.list(''))).map((b) => b.key)).toEqual([key]);
    } finally {
      await other.close();
    }
  });

  it('deletes a prefix of more than one DeleteObjects batch (1100 keys)', async () => {
    const group = `many-${randomBytes(4).toString('hex')}/h1/`;
    const keys = Array.from({ length: 1100 }, (_, i) => `${group}${String(i).padStart(4, '0')}.webp`);
    await inBatches(keys, 50, (key) => store.put(key, Buffer.from(key), 'image/webp'));
    expect((await collect(store.list(group))).length).toBe(1100);
    await store.deletePrefix(group);
    expect(await collect(store.list(group))).toEqual([]);
  }, 120_000);

  it('says the store is unavailable, not that a key is missing, when the bucket does not exist', async () => {
    const lost = await S3BlobStore.open(options({ bucket: `no-such-bucket-${randomBytes(4).toString('hex')}` }));
    try {
      await expect(lost.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(lost.get('a/h1/master')).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await lost.close();
    }
  });
});

describe('S3BlobStore without a server', () => {
  // Test timeouts are the bound here: a store that hangs instead of failing fails the case.
  it('answers StoreUnavailableError for every operation when nothing listens on the port', async () => {
    const port = await closedPort();
    const store = await S3BlobStore.open(options({ endpoint: `http://127.0.0.1:${port}` }));
    try {
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.put('a/h1/master', randomBytes(8), 'image/jpeg')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.get('a/h1/master')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.head('a/h1/master')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.deletePrefix('a/h1/')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(collect(store.list(''))).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
    }
  }, 20_000);

  it('answers StoreUnavailableError when the server accepts connections but never answers', async () => {
    const { server, port, sockets } = await silentServer();
    const store = await S3BlobStore.open(options({
      endpoint: `http://127.0.0.1:${port}`,
      timeouts: { connectionMs: 500, requestMs: 500, socketIdleMs: 500, operationMs: 3_000, pingMs: 1_000 },
    }));
    try {
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.get('a/h1/master')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.put('a/h1/master', randomBytes(8), 'image/jpeg')).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 20_000);
});

/** Sets, from `.services/env`, the variables the environment leaves unset. */
function loadServicesEnv(): void {
  const file = new URL('../../.services/env', import.meta.url);
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match && process.env[match[1]!] === undefined) process.env[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
}

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

/** A loopback port that was just free: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP server that accepts every connection and never sends a byte: a hung S3. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => { sockets.add(socket); socket.on('error', () => undefined); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, sockets };
}
