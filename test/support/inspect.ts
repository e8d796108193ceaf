import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import cassandra from 'cassandra-driver';
import type { BlobStore } from '../../src/blobs/port.js';
import { loadConfig, type Config, type MetadataConfig } from '../../src/config/index.js';
import type { MetadataStore } from '../../src/metadata/port.js';
import { openBlobStore, openMetadataStore, type OpenedBlobStore } from '../../src/server/backends.js';
import { backendEnv } from './backends.js';

/**
 * The inspectors look into what a server of the end-to-end suites has stored, through the same
 * ports and the same configuration the server uses (its data dir and backendEnv), so that a test
 * asserts the same thing whether the server runs on the embedded stores or on Cassandra and S3.
 * The stores are opened lazily, once per data dir, and kept until closeInspectors(), which every suite that
 * uses them calls in its afterAll. A second process opening the SQLite file is fine (WAL mode).
 */

interface Inspector {
  config: Config;
  metadata?: Promise<MetadataStore>;
  blobs?: Promise<OpenedBlobStore>;
}

const inspectors = new Map<string, Inspector>();
const cassandraClients = new Map<string, Promise<cassandra.Client>>();

function inspector(dataDir: string): Inspector {
  let found = inspectors.get(dataDir);
  if (!found) {
    found = { config: loadConfig({ ...backendEnv(dataDir), ONEPIC_DATA_DIR: dataDir }) };
    inspectors.set(dataDir, found);
  }
  return found;
}

function metadataOf(dataDir: string): Promise<MetadataStore> {
  const i = inspector(dataDir);
  i.metadata ??= openMetadataStore(i.config.metadata);
  return i.metadata;
}

async function blobsOf(dataDir: string): Promise<BlobStore> {
  const i = inspector(dataDir);
  i.blobs ??= openBlobStore(i.config.blobs);
  return (await i.blobs).blobs;
}

/** Closes every store and client the inspectors opened. */
export async function closeInspectors(): Promise<void> {
  const opened = [...inspectors.values()];
  const clients = [...cassandraClients.values()];
  inspectors.clear();
  cassandraClients.clear();
  await Promise.allSettled([
    ...opened.map(async (i) => { if (i.metadata) await (await i.metadata).close(); }),
    ...opened.map(async (i) => { if (i.blobs) await (await i.blobs).blobs.close(); }),
    ...clients.map(async (c) => { await (await c).shutdown(); }),
  ]);
}

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The user's pictures as stored (id and master hash), sorted by id. */
export async function pictureRows(dataDir: string, username: string): Promise<Array<{ id: string; hash: string }>> {
  const pictures = await (await metadataOf(dataDir)).listPictures(username);
  return pictures.map((p) => ({ id: p.id, hash: p.hash })).sort(byId);
}

/** How many users (0 or 1), pictures or tokens the store holds for this username. */
export async function countRows(dataDir: string, table: 'users' | 'pictures' | 'tokens', username: string): Promise<number> {
  const metadata = await metadataOf(dataDir);
  switch (table) {
    case 'users':
      return (await metadata.getUser(username)) ? 1 : 0;
    case 'pictures':
      return (await metadata.listPictures(username)).length;
    case 'tokens': {
      // The port has no way to list a user's tokens: ask the backend itself.
      const config = inspector(dataDir).config.metadata;
      return config.kind === 'embedded' ? sqliteTokenCount(config.path, username) : cassandraTokenCount(config, username);
    }
  }
}

function sqliteTokenCount(file: string, username: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM tokens WHERE username = ?').get(username) as { n: number }).n;
  } finally {
    db.close();
  }
}

async function cassandraTokenCount(config: Extract<MetadataConfig, { kind: 'cassandra' }>, username: string): Promise<number> {
  const id = `${config.contactPoints.join(',')}|${config.localDataCenter}`;
  let client = cassandraClients.get(id);
  if (!client) {
    const created = new cassandra.Client({ contactPoints: config.contactPoints, localDataCenter: config.localDataCenter });
    client = created.connect().then(() => created);
    cassandraClients.set(id, client);
  }
  const result = await (await client).execute(
    `SELECT COUNT(*) AS n FROM ${config.keyspace}.tokens WHERE username = ? ALLOW FILTERING`, [username], { prepare: true },
  );
  return Number(result.first()?.get('n') ?? 0);
}

/** The user's blobs (masters and renditions), as keys relative to `<username>/`, sorted. */
export async function userBlobs(dataDir: string, username: string): Promise<string[]> {
  const prefix = `${username}/`;
  const keys: string[] = [];
  for await (const info of (await blobsOf(dataDir)).list(prefix)) keys.push(info.key.slice(prefix.length));
  return keys.sort();
}

/** The `<hash>` groups that hold at least one blob of the user, sorted. */
export async function blobGroups(dataDir: string, username: string): Promise<string[]> {
  return [...new Set((await userBlobs(dataDir, username)).map((key) => key.split('/')[0]!))].sort();
}

export interface StoredState {
  /** The user's active picture id (undefined: no such user). */
  active: string | null | undefined;
  pictures: Array<{ id: string; hash: string; format: string; width: number }>;
}

/** The user's active pointer and pictures, as stored. */
export async function readStoredState(dataDir: string, username: string): Promise<StoredState> {
  const metadata = await metadataOf(dataDir);
  const user = await metadata.getUser(username);
  const pictures = (await metadata.listPictures(username)).map((p) => ({ id: p.id, hash: p.hash, format: p.format, width: p.width }));
  return { active: user?.activePictureId, pictures: pictures.sort(byId) };
}

const masterKey = (username: string, hash: string): string => `${username}/${hash}/master`;

/** Whether the master blob `<username>/<hash>/master` is stored. */
export async function masterExists(dataDir: string, username: string, hash: string): Promise<boolean> {
  return (await (await blobsOf(dataDir)).head(masterKey(username, hash))) !== null;
}

/** The bytes of the master blob `<username>/<hash>/master`, or null when it is not stored. */
export async function readMaster(dataDir: string, username: string, hash: string): Promise<Buffer | null> {
  return (await blobsOf(dataDir)).get(masterKey(username, hash));
}

/**
 * Stores `<username>/<random 32-hex>/master`, what a crash between the blob put and the metadata
 * insert leaves behind. Returns the hash.
 */
export async function plantOrphan(dataDir: string, username: string, bytes: Uint8Array = Buffer.from('orphan master')): Promise<string> {
  const hash = randomBytes(16).toString('hex');
  await (await blobsOf(dataDir)).put(masterKey(username, hash), bytes, 'application/octet-stream');
  return hash;
}

/** Every key of the server's blob store ('' prefix: all of them, within its S3 key prefix), sorted. */
export async function allBlobKeys(dataDir: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of (await blobsOf(dataDir)).list('')) keys.push(info.key);
  return keys.sort();
}
