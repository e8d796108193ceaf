import cassandra from 'cassandra-driver';
import { KeyedSerial } from '../../domain/keyed-serial.js';
import type { ActiveLookup, MetadataStore, PictureRecord, TokenRecord, UserRecord } from '../port.js';
import { createClient, type CassandraStoreConfig } from './client.js';
import {
  AGAIN, CONDITIONAL, conditionalWrite, READ, SERIAL_READ, withRetries,
  type Attempt,
} from './conditional-write.js';
import { migrate } from './migrate.js';
import { hasAccount, isPictureRow, pictureSetParams, toPicture, toUser } from './rows.js';
import { statements, type Statements } from './statements.js';
import { asStoreError } from './store-errors.js';
import { TokenTable } from './token-table.js';

type Row = cassandra.types.Row;
type Options = typeof READ | typeof SERIAL_READ;

/**
 * The production metadata store. A user's account, pictures and active pointer are one
 * partition (see migrate.ts), so every method that changes it is one single-partition
 * conditional write or conditional batch, which Paxos applies atomically. Where the condition
 * depends on state read first (the picture as read, the uid read), the method is a
 * compare-and-set loop: the write applies only if what was read still holds, else it reads
 * again. A conditional write whose answer is lost is decided by a SERIAL read
 * (conditional-write.ts), never guessed. This process sends one partition's conditional writes
 * one at a time (domain/keyed-serial.ts), which spares Paxos needless contention: correctness
 * never depends on it, as Paxos orders writes from every node, but concurrent proposals on one
 * partition make each other start over, and past cas_contention_timeout the coordinator gives up
 * with a CAS write timeout that must be resolved by a SERIAL read. Reads are never queued.
 */
export class CassandraMetadataStore implements MetadataStore {
  private readonly tokens: TokenTable;
  private readonly queue = new KeyedSerial();

  private constructor(
    private readonly client: cassandra.Client,
    private readonly cql: Statements,
  ) {
    this.tokens = new TokenTable(client, cql);
  }

  /** Connects, creates the keyspace and tables if missing; StoreUnavailableError if Cassandra does not answer. */
  static async open(config: CassandraStoreConfig): Promise<CassandraMetadataStore> {
    const client = createClient(config);
    try {
      await client.connect();
      await migrate(client, config);
    } catch (err) {
      await client.shutdown().catch(() => undefined);
      throw asStoreError(err);
    }
    return new CassandraMetadataStore(client, statements(config.keyspace));
  }

  createUser(user: UserRecord): Promise<boolean> {
    // A new account starts with no active picture, whatever the record says.
    return this.changing(user.username, () => conditionalWrite(
      () => this.client.execute(this.cql.createUser, [user.username, user.uid, user.passwordHash, user.createdAt], CONDITIONAL),
      // Only this write can create an account with this fresh uid. Another uid means the name is
      // taken: the retry's IF NOT EXISTS then answers false.
      async () => ((await this.statics(user.username, SERIAL_READ))?.get('uid') === user.uid ? 'applied' : 'not_applied'),
    ));
  }

  getUser(username: string): Promise<UserRecord | null> {
    return this.run(async () => {
      const row = await this.one(this.cql.getUser, [username], READ);
      return hasAccount(row) ? toUser(username, row) : null;
    });
  }

  async deleteUser(username: string): Promise<PictureRecord[] | null> {
    const deleted = await this.changing(username, async (): Attempt<{ uid: string; pictures: PictureRecord[] } | null> => {
      // SERIAL, so that no Paxos round in flight (an insert) is missing from what we report.
      const rows = (await this.client.execute(this.cql.partition, [username], SERIAL_READ)).rows;
      const statics = rows[0];
      if (!hasAccount(statics)) return null;
      const uid: string = statics.get('uid');
      const lastPictureId: string | null = statics.get('last_picture_id') ?? null;
      const pictures = rows.filter(isPictureRow).map((row) => toPicture(username, row));
      // If uid or last_picture_id moved since the read (re-registered, a new picture), read again.
      const applied = await conditionalWrite(
        () => this.client.batch([
          { query: this.cql.deletePartition, params: [username] },
          { query: this.cql.deleteAccountIf, params: [username, uid, lastPictureId] },
        ], CONDITIONAL),
        async () => ((await this.statics(username, SERIAL_READ))?.get('uid') === uid ? 'not_applied' : 'applied'),
      );
      return applied === true ? { uid, pictures } : AGAIN;
    });
    if (!deleted) return null;
    // The account is gone and its tokens with it (authentication checks their uid): failing to
    // delete them now only leaves them to their TTL, so it must not fail the deletion.
    await this.tokens.deleteAccountTokens(username, deleted.uid).catch(() => undefined);
    return deleted.pictures;
  }

  putToken(token: TokenRecord): Promise<void> {
    return this.run(() => this.tokens.put(token));
  }

  getToken(tokenHash: string): Promise<TokenRecord | null> {
    return this.run(() => this.tokens.get(tokenHash));
  }

  deleteToken(tokenHash: string): Promise<void> {
    return this.run(() => this.tokens.delete(tokenHash));
  }

  insertPicture(picture: PictureRecord, opts: { uid: string; makeActive: boolean }): Promise<boolean> {
    const { username, id } = picture;
    const [query, params] = opts.makeActive
      ? [this.cql.insertActivePicture, [...pictureSetParams(picture), id, username, id, opts.uid]]
      : [this.cql.insertPicture, [...pictureSetParams(picture), username, id, opts.uid]];
    return this.changing(username, () => conditionalWrite(
      () => this.client.execute(query, params, CONDITIONAL),
      // The id is fresh and unknown to anyone else, so the row exists only if this write made it.
      async () => ((await this.picture(username, id, SERIAL_READ)) ? 'applied' : 'not_applied'),
    ));
  }

  listPictures(username: string): Promise<PictureRecord[]> {
    // Clustering order is picture_id DESC: newest first, straight from disk.
    return this.run(async () => (await this.client.execute(this.cql.listPictures, [username], READ)).rows
      .filter(isPictureRow).map((row) => toPicture(username, row)));
  }

  getPicture(username: string, id: string): Promise<PictureRecord | null> {
    return this.run(() => this.picture(username, id, READ));
  }

  updateLabel(username: string, id: string, label: string): Promise<PictureRecord | null> {
    return this.changing(username, async (): Attempt<PictureRecord | null> => {
      const seen = await this.picture(username, id, READ);
      if (!seen) return null;
      const applied = await conditionalWrite(
        () => this.client.execute(this.cql.updateLabel, [label, username, id, seen.label], CONDITIONAL),
        async () => {
          const now = await this.picture(username, id, SERIAL_READ);
          if (now?.label === label) return 'applied';
          // Gone or relabelled by someone else: ours may have applied before that, or not.
          return now?.label === seen.label ? 'not_applied' : 'unknown';
        },
      );
      return applied === true ? { ...seen, label } : AGAIN;
    });
  }

  deletePicture(username: string, id: string): Promise<PictureRecord | null> {
    return this.changing(username, async (): Attempt<PictureRecord | null> => {
      const row = await this.one(this.cql.pictureWithActive, [username, id], READ);
      if (!row || !isPictureRow(row)) return null;
      const picture = toPicture(username, row);
      const active: string | null = row.get('active_picture_id') ?? null;
      const remove = { query: this.cql.deletePicture, params: [username, id, picture.label, active] };
      // The active picture goes with its pointer in one conditional batch (one partition, so
      // one Paxos round): no reader ever sees the pointer name a deleted picture.
      const write = active === id
        ? () => this.client.batch([remove, { query: this.cql.clearActiveInBatch, params: [username] }], CONDITIONAL)
        : () => this.client.execute(remove.query, remove.params, CONDITIONAL);
      // Ids are never reused: once gone, the picture was deleted, by us or by a concurrent delete
      // of the same picture, and either way its blob is now the caller's to collect.
      const applied = await conditionalWrite(write,
        async () => ((await this.picture(username, id, SERIAL_READ)) ? 'not_applied' : 'applied'));
      return applied === true ? picture : AGAIN;
    });
  }

  setActive(username: string, id: string): Promise<PictureRecord | null> {
    return this.changing(username, async (): Attempt<PictureRecord | null> => {
      const seen = await this.picture(username, id, READ);
      if (!seen) return null;
      // IF label = <seen>: the picture exists at that instant and is the one we return.
      const applied = await conditionalWrite(
        () => this.client.execute(this.cql.setActive, [id, username, id, seen.label], CONDITIONAL),
        // Pointing elsewhere cannot tell "not applied" from "applied, then overwritten".
        async () => ((await this.statics(username, SERIAL_READ))?.get('active_picture_id') === id ? 'applied' : 'unknown'),
      );
      return applied === true ? seen : AGAIN;
    });
  }

  clearActive(username: string): Promise<boolean> {
    return this.changing(username, () => conditionalWrite(
      () => this.client.execute(this.cql.clearActive, [username], CONDITIONAL),
      async () => {
        const statics = await this.statics(username, SERIAL_READ);
        // No account: the retry's IF EXISTS answers false.
        if (!hasAccount(statics)) return 'not_applied';
        return statics.get('active_picture_id') == null ? 'applied' : 'unknown';
      },
    ));
  }

  /**
   * Two single-partition reads (the statics, then the active row by its full key) rather than
   * the whole partition: this is the hot read path, and two small reads routed to a replica
   * cost less than shipping every picture row. If the picture is deleted between the two, its
   * delete cleared the pointer in the same write, so "no active picture" is the current answer.
   */
  getActive(username: string): Promise<ActiveLookup> {
    return this.run(async (): Promise<ActiveLookup> => {
      const statics = await this.statics(username, READ);
      if (!hasAccount(statics)) return { kind: 'no_user' };
      const uid: string = statics.get('uid');
      const activeId: string | null = statics.get('active_picture_id') ?? null;
      const picture = activeId === null ? null : await this.picture(username, activeId, READ);
      return picture ? { kind: 'active', uid, picture } : { kind: 'no_active', uid };
    });
  }

  /** Reads the partition's hashes: a partition holds tens of pictures, not thousands. */
  isHashReferenced(username: string, hash: string): Promise<boolean> {
    return this.run(async () => (await this.client.execute(this.cql.hashes, [username], READ)).rows
      .some((row) => row.get('hash') === hash));
  }

  ping(): Promise<void> {
    return this.run(async () => void (await this.client.execute(this.cql.ping, [], READ)));
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }

  /** A state change of one user's partition: queued behind this process's others, then retried as its attempt asks. */
  private changing<T>(username: string, attempt: () => Attempt<T>): Promise<T> {
    return this.queue.run(username, () => withRetries(attempt));
  }

  private async one(query: string, params: unknown[], options: Options): Promise<Row | undefined> {
    return (await this.client.execute(query, params, options)).rows[0];
  }

  private statics(username: string, options: Options): Promise<Row | undefined> {
    return this.one(this.cql.statics, [username], options);
  }

  private async picture(username: string, id: string, options: Options): Promise<PictureRecord | null> {
    const row = await this.one(this.cql.getPicture, [username, id], options);
    return row && isPictureRow(row) ? toPicture(username, row) : null;
  }

  private async run<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      throw asStoreError(err);
    }
  }
}
