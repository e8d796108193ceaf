import type { Client } from 'cassandra-driver';

export interface KeyspaceOptions {
  keyspace: string;
  localDataCenter: string;
  /** 1 on a laptop or in CI; 3 in production, so that LOCAL_QUORUM survives one replica down. */
  replicationFactor: number;
}

/**
 * The schema. Everything a user owns is one partition of `users`, keyed by username: the
 * account and the active pointer are static columns (one copy per partition), each picture a
 * clustering row. A set-active, a picture delete that clears the pointer, or an account delete
 * is then a single-partition conditional write, which Paxos makes atomic without any
 * cross-partition coordination.
 *
 * Picture ids are UUIDv7 strings, so lexical order is time order and `picture_id DESC` lists
 * newest first straight from disk.
 *
 * `last_picture_id` is written by every picture insert. Account deletion reads the partition,
 * then deletes it on condition that `uid` and `last_picture_id` are still what it read: a
 * picture inserted in between fails that condition instead of being deleted without being
 * reported (its blob would otherwise be left for the sweeper).
 *
 * Tokens are looked up by hash and expire by TTL, so they live in their own table, with a list
 * per account beside it; writes there are plain (never Paxos), which is safe because no
 * conditional write touches those tables.
 */
function schemaStatements(keyspace: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${keyspace}.users (
       username           text,
       picture_id         text,
       uid                text static,
       password_hash      text static,
       created_at         timestamp static,
       active_picture_id  text static,
       last_picture_id    text static,
       label              text,
       hash               text,
       format             text,
       has_alpha          boolean,
       width              int,
       height             int,
       bytes              int,
       picture_created_at timestamp,
       PRIMARY KEY ((username), picture_id)
     ) WITH CLUSTERING ORDER BY (picture_id DESC)`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.tokens (
       token_hash text PRIMARY KEY,
       username   text,
       uid        text,
       created_at timestamp,
       expires_at timestamp
     )`,
    // A user's tokens by account, so that deleting the account can delete them. Clustered by
    // uid first: a name registered again lists (and deletes) only its own account's tokens.
    `CREATE TABLE IF NOT EXISTS ${keyspace}.user_tokens (
       username   text,
       uid        text,
       token_hash text,
       PRIMARY KEY ((username), uid, token_hash)
     )`,
  ];
}

/** Identifiers and the data-center name are spliced into DDL (CQL cannot bind them), so check them. */
const IDENTIFIER = /^[a-z][a-z0-9_]{0,47}$/;
const DATA_CENTER = /^[A-Za-z0-9_.-]{1,64}$/;

function keyspaceStatement({ keyspace, localDataCenter, replicationFactor }: KeyspaceOptions): string {
  if (!IDENTIFIER.test(keyspace)) throw new Error(`Expected a Cassandra keyspace name but received "${keyspace}".`);
  if (!DATA_CENTER.test(localDataCenter)) throw new Error(`Expected a data-center name but received "${localDataCenter}".`);
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new Error(`Expected a positive integer replication factor but received ${replicationFactor}.`);
  }
  // NetworkTopologyStrategy even with one DC: a second DC can be added later by ALTER KEYSPACE
  // without moving data between strategies.
  return `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ` +
    `{'class': 'NetworkTopologyStrategy', '${localDataCenter}': ${replicationFactor}}`;
}

/**
 * Creates the keyspace and tables if missing; running it again changes nothing. An existing
 * keyspace keeps its replication (changing RF is an operator's ALTER KEYSPACE plus a repair,
 * not something a starting node should do behind their back).
 *
 * Several OnePic nodes may start at once and race on the same CREATE ... IF NOT EXISTS; each
 * waits for schema agreement after every statement so that no node prepares a statement
 * against a table some replica does not know yet.
 */
export async function migrate(client: Client, options: KeyspaceOptions): Promise<void> {
  for (const ddl of [keyspaceStatement(options), ...schemaStatements(options.keyspace)]) {
    await client.execute(ddl);
    await awaitSchemaAgreement(client);
  }
}

const AGREEMENT_TIMEOUT_MS = 30_000;

async function awaitSchemaAgreement(client: Client): Promise<void> {
  // The driver already waits up to protocolOptions.maxSchemaAgreementWaitSeconds after DDL;
  // this checks explicitly and keeps waiting, because a node that goes on without agreement
  // fails later with a confusing "unconfigured table".
  const deadline = Date.now() + AGREEMENT_TIMEOUT_MS;
  // checkSchemaAgreement exists on the driver's Metadata but is missing from its typings.
  const metadata = client.metadata as unknown as { checkSchemaAgreement(): Promise<boolean> };
  while (!(await metadata.checkSchemaAgreement())) {
    if (Date.now() > deadline) {
      throw new Error(`Cassandra nodes did not agree on the schema within ${AGREEMENT_TIMEOUT_MS / 1000} s; check that every node is up.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
