import { randomBytes } from 'node:crypto';
import net from 'node:net';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import { CassandraMetadataStore } from '../../src/metadata/cassandra/cassandra-metadata-store.js';
import type { CassandraStoreConfig } from '../../src/metadata/cassandra/client.js';
import type { PictureRecord } from '../../src/metadata/port.js';
import { newPicture, newToken, newUser, sortById } from '../contract/metadata-fixtures.js';
import { describeMetadataStoreContract } from '../contract/metadata-store.case.js';
import { sleep } from '../support/timing.js';

/**
 * The metadata contract, and what only a real cluster can show (Paxos under contention, TTLs,
 * partition tombstones), against the Cassandra of `npm run services:up`. Each run works in a
 * keyspace of its own, dropped at the end. Without Cassandra this file fails: it never skips.
 */
const config: CassandraStoreConfig = {
  contactPoints: (process.env.ONEPIC_CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',').map((s) => s.trim()),
  localDataCenter: process.env.ONEPIC_CASSANDRA_LOCAL_DC ?? 'datacenter1',
  keyspace: `onepic_test_${randomBytes(6).toString('hex')}`,
  replicationFactor: 1,
};

/** A raw client, to look at what the store wrote and to drop the keyspace. */
let raw: cassandra.Client;

beforeAll(async () => {
  raw = new cassandra.Client({ contactPoints: config.contactPoints, localDataCenter: config.localDataCenter });
  try {
    await raw.connect();
  } catch (err) {
    await raw.shutdown().catch(() => undefined);
    throw new Error(
      `Cassandra is not answering on ${config.contactPoints.join(', ')} (ONEPIC_CASSANDRA_CONTACT_POINTS). ` +
        `Start it with \`npm run services:up\`: the integration suites need the real services. (${String(err)})`,
    );
  }
  // Migrate once here, so that each case's open() finds the schema in place.
  await (await CassandraMetadataStore.open(config)).close();
}, 120_000);

afterAll(async () => {
  if (!raw) return;
  await raw.execute(`DROP KEYSPACE IF EXISTS ${config.keyspace}`).catch(() => undefined);
  await raw.shutdown();
}, 60_000);

describeMetadataStoreContract('cassandra', async () => ({
  store: await CassandraMetadataStore.open(config),
  cleanup: async () => undefined,
}));

describe('CassandraMetadataStore on a real cluster', () => {
  const withStore = async (body: (store: CassandraMetadataStore) => Promise<void>) => {
    const store = await CassandraMetadataStore.open(config);
    try {
      await body(store);
    } finally {
      await store.close();
    }
  };

  it('creates the keyspace with NetworkTopologyStrategy, and opening again keeps the data', async () => {
    const user = newUser();
    await withStore(async (store) => void (await store.createUser(user)));
    await withStore(async (store) => expect(await store.getUser(user.username)).toEqual(user));
    const row = (await raw.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [config.keyspace])).first();
    expect(row.get('replication')).toEqual({
      class: 'org.apache.cassandra.locator.NetworkTopologyStrategy', [config.localDataCenter]: '1',
    });
  });

  it('keeps the pointer valid, and accounts for every picture, under heavy concurrent LWTs from two clients', async () => {
    await withStore(async (a) => withStore(async (b) => {
      const user = newUser();
      await a.createUser(user);
      const inserted: PictureRecord[] = [];
      const deleted: PictureRecord[] = [];
      for (let round = 0; round < 3; round++) {
        const ops: Promise<unknown>[] = [];
        const ids = () => inserted.map((p) => p.id);
        for (let i = 0; i < 12; i++) {
          const store = i % 2 === 0 ? a : b;
          const fresh = newPicture(user.username);
          ops.push(store.insertPicture(fresh, { uid: user.uid, makeActive: i % 3 === 0 }).then((ok) => ok && inserted.push(fresh)));
          const known = ids();
          if (known.length > 0) {
            ops.push(store.setActive(user.username, known[(i * 7) % known.length]!));
            ops.push(store.deletePicture(user.username, known[(i * 5 + round) % known.length]!).then((p) => p && deleted.push(p)));
          }
          if (i === 5) ops.push(store.clearActive(user.username));
        }
        await Promise.all(ops);

        const remaining = await a.listPictures(user.username);
        // Every picture inserted is either still listed or was returned by exactly one delete.
        expect(sortById([...remaining, ...deleted])).toEqual(sortById(inserted));
        const active = (await b.getUser(user.username))?.activePictureId ?? null;
        if (active !== null) expect(remaining.map((p) => p.id)).toContain(active);
        const lookup = await a.getActive(user.username);
        expect(lookup.kind === 'active' ? lookup.picture.id : null).toBe(active);
      }
    }));
  });

  it('deletes an account\'s tokens with it, and only that account\'s', async () => {
    await withStore(async (store) => {
      const first = newUser();
      await store.createUser(first);
      const [a, b] = [newToken(first), newToken(first)];
      await store.putToken(a);
      await store.putToken(b);
      // A token of a successor account under the same name, written before the cleanup runs.
      const successor = newToken({ ...newUser(), username: first.username });
      await store.putToken(successor);
      expect(await store.deleteUser(first.username)).toEqual([]);
      const count = `SELECT COUNT(*) AS n FROM ${config.keyspace}.tokens WHERE username = ? ALLOW FILTERING`;
      expect(Number((await raw.execute(count, [first.username])).first().get('n'))).toBe(1);
      expect(await store.getToken(a.tokenHash)).toBeNull();
      expect(await store.getToken(b.tokenHash)).toBeNull();
      expect(await store.getToken(successor.tokenHash)).toEqual(successor);
    });
  });

  it('gives a name registered again after deleteUser a fresh partition', async () => {
    await withStore(async (store) => {
      const first = newUser();
      await store.createUser(first);
      const pictures = [newPicture(first.username), newPicture(first.username)];
      for (const p of pictures) await store.insertPicture(p, { uid: first.uid, makeActive: true });
      expect(sortById((await store.deleteUser(first.username)) ?? [])).toEqual(sortById(pictures));

      const again = { ...newUser(), username: first.username };
      expect(await store.createUser(again)).toBe(true);
      expect(await store.getUser(again.username)).toEqual(again);
      // Nothing of the predecessor survives: no picture rows, no pointer, no last insert.
      const rows = (await raw.execute(`SELECT * FROM ${config.keyspace}.users WHERE username = ?`, [again.username])).rows;
      expect(rows).toHaveLength(1);
      expect(rows[0]!.get('picture_id')).toBeNull();
      expect(rows[0]!.get('active_picture_id')).toBeNull();
      expect(rows[0]!.get('last_picture_id')).toBeNull();
      expect(await store.setActive(again.username, pictures[1]!.id)).toBeNull();
      expect(await store.insertPicture(newPicture(again.username), { uid: first.uid, makeActive: true })).toBe(false);
      expect(await store.getActive(again.username)).toEqual({ kind: 'no_active', uid: again.uid });
    });
  });

  it('lets Cassandra drop a token by its TTL when it expires', async () => {
    await withStore(async (store) => {
      const token = { ...newToken(newUser()), expiresAt: new Date(Date.now() + 2_000) };
      await store.putToken(token);
      expect(await store.getToken(token.tokenHash)).toEqual(token);
      const select = `SELECT TTL(username) AS ttl FROM ${config.keyspace}.tokens WHERE token_hash = ?`;
      expect((await raw.execute(select, [token.tokenHash])).first().get('ttl')).toBeLessThanOrEqual(2);

      await sleep(3_200);
      expect(await store.getToken(token.tokenHash)).toBeNull();
      // Gone from the table, not merely filtered out by the store.
      expect((await raw.execute(select, [token.tokenHash])).rowLength).toBe(0);
    });
  });

  /**
   * Fault injection: the next `count` conditional writes (the only calls with a serial
   * consistency) lose their answer, as a coordinator timeout would, either after Cassandra
   * applied them or before they reached it.
   */
  function loseAnswers(store: CassandraMetadataStore, when: 'after_applying' | 'before_sending', count = 1): void {
    // The client is private; reaching it here is the price of injecting a lost answer.
    const client = (store as unknown as { client: cassandra.Client }).client;
    for (const method of ['execute', 'batch'] as const) {
      const original = client[method].bind(client) as (...args: unknown[]) => Promise<unknown>;
      (client as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
        const options = args.find((a) => typeof a === 'object' && a !== null && 'serialConsistency' in a);
        if (!options || count === 0) return original(...args);
        count--;
        if (when === 'after_applying') await original(...args);
        throw new cassandra.errors.OperationTimedOutError('injected: the answer was lost', '127.0.0.1:9042');
      };
    }
  }

  it('decides a conditional write whose answer was lost after it applied by a SERIAL read', async () => {
    await withStore(async (store) => {
      const user = newUser();
      loseAnswers(store, 'after_applying');
      expect(await store.createUser(user)).toBe(true);
      const [first, second] = [newPicture(user.username), newPicture(user.username)];
      loseAnswers(store, 'after_applying');
      expect(await store.insertPicture(first, { uid: user.uid, makeActive: true })).toBe(true);
      await store.insertPicture(second, { uid: user.uid, makeActive: false });
      loseAnswers(store, 'after_applying');
      expect(await store.setActive(user.username, second.id)).toEqual(second);
      loseAnswers(store, 'after_applying');
      expect(await store.updateLabel(user.username, first.id, 'renamed')).toEqual({ ...first, label: 'renamed' });
      loseAnswers(store, 'after_applying');
      expect(await store.deletePicture(user.username, second.id)).toEqual(second);
      expect(await store.getActive(user.username)).toEqual({ kind: 'no_active', uid: user.uid });
      expect(await store.listPictures(user.username)).toEqual([{ ...first, label: 'renamed' }]);
      loseAnswers(store, 'after_applying');
      expect(await store.deleteUser(user.username)).toEqual([{ ...first, label: 'renamed' }]);
      expect(await store.getUser(user.username)).toBeNull();
    });
  });

  it('runs a conditional write again when a SERIAL read shows its lost answer was never applied', async () => {
    await withStore(async (store) => {
      const user = newUser();
      loseAnswers(store, 'before_sending');
      expect(await store.createUser(user)).toBe(true);
      const picture = newPicture(user.username);
      loseAnswers(store, 'before_sending', 2);
      expect(await store.insertPicture(picture, { uid: user.uid, makeActive: true })).toBe(true);
      expect(await store.listPictures(user.username)).toEqual([picture]);
      expect(await store.getActive(user.username)).toEqual({ kind: 'active', uid: user.uid, picture });
    });
  });

  it('answers 503 rather than guess when a SERIAL read cannot tell whether a lost write applied', async () => {
    await withStore(async (store) => {
      const { username, uid } = newUser();
      await store.createUser({ ...newUser(), username, uid });
      const [a, b] = [newPicture(username), newPicture(username)];
      await store.insertPicture(a, { uid, makeActive: true });
      await store.insertPicture(b, { uid, makeActive: false });
      // Pointing at `a` afterwards could mean "never applied" or "applied, then overwritten".
      loseAnswers(store, 'before_sending');
      await expect(store.setActive(username, b.id)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect((await store.getUser(username))?.activePictureId).toBe(a.id);
    });
  });

  it('answers StoreUnavailableError while Cassandra is unreachable, and recovers without being reopened', async () => {
    // A TCP relay in front of the shared Cassandra: cutting it looks like the node going away,
    // without stopping the node other suites are using.
    const [host, port] = config.contactPoints[0]!.split(':') as [string, string | undefined];
    const relay = await startRelay(host, Number(port ?? 9042));
    const store = await CassandraMetadataStore.open({ ...config, contactPoints: [`127.0.0.1:${relay.port}`] });
    try {
      const user = newUser();
      expect(await store.createUser(user)).toBe(true);

      await relay.cut();
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.getUser(user.username)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.insertPicture(newPicture(user.username), { uid: user.uid, makeActive: true }))
        .rejects.toBeInstanceOf(StoreUnavailableError);

      await relay.restore();
      const deadline = Date.now() + 30_000;
      while (!(await store.ping().then(() => true, () => false))) {
        if (Date.now() > deadline) throw new Error('the store did not recover within 30 s of Cassandra coming back');
        await sleep(200);
      }
      const picture = newPicture(user.username);
      expect(await store.insertPicture(picture, { uid: user.uid, makeActive: true })).toBe(true);
      expect(await store.getActive(user.username)).toEqual({ kind: 'active', uid: user.uid, picture });
    } finally {
      await store.close();
      await relay.close();
    }
  }, 60_000);

  it('answers StoreUnavailableError when no node can be reached', async () => {
    const nowhere = { ...config, contactPoints: ['127.0.0.1:1'] };
    await expect(CassandraMetadataStore.open(nowhere)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

/** A TCP relay to host:port on a fixed local port that can be cut (every connection dropped) and restored. */
async function startRelay(host: string, port: number) {
  const sockets = new Set<net.Socket>();
  const listen = (listenPort: number) => new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer((client) => {
      const upstream = net.connect(port, host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream).pipe(client);
    });
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => resolve(server));
  });
  let server: net.Server | undefined = await listen(0);
  const relayPort = (server.address() as net.AddressInfo).port;
  const cut = async () => {
    const closing = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => closing?.close(resolve) ?? resolve(undefined));
  };
  return {
    port: relayPort,
    cut,
    restore: async () => { server = await listen(relayPort); },
    close: cut,
  };
}
