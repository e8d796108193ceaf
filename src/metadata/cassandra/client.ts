import cassandra from 'cassandra-driver';

const { policies, types } = cassandra;

export interface CassandraStoreConfig {
  /** `host` or `host:port` (9042 when no port is given). */
  contactPoints: string[];
  /** The data center whose replicas serve this node; LOCAL_QUORUM and LOCAL_SERIAL count in it. */
  localDataCenter: string;
  keyspace: string;
  replicationFactor: number;
}

/**
 * Timeouts. Cassandra's own defaults give up on a read after 5 s, a write after 2 s and a
 * contended Paxos round after 1 s; the client waits longer than all of them, so that the server's
 * answer (which says what happened, e.g. a CAS write timeout) arrives before the client gives up
 * blind. A node that stops answering altogether (paused, partitioned) still fails a request
 * within this bound, which the HTTP edge turns into a 503.
 */
const READ_TIMEOUT_MS = 8_000;
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Reconnection. When every node is down, requests fail at once with NoHostAvailableError (503)
 * and the driver tries each node again after 0.5 s, 1 s, then every 2 s (RECONNECT_MAX_MS; the
 * driver adds up to 15 % jitter), so OnePic recovers by itself within seconds of Cassandra
 * coming back, without a restart.
 */
const RECONNECT_BASE_MS = 500;
// Capped low: an attempt is one TCP connect to a node, cheap for the node, and the cap is how
// long writes keep answering 503 after the last of a user's replicas comes back.
const RECONNECT_MAX_MS = 2_000;

export function createClient(config: CassandraStoreConfig): cassandra.Client {
  return new cassandra.Client({
    contactPoints: config.contactPoints,
    localDataCenter: config.localDataCenter,
    policies: {
      // Token-aware over DC-aware round robin: each request goes straight to a replica of its
      // partition in the local data center, which then coordinates without an extra hop.
      loadBalancing: new policies.loadBalancing.TokenAwarePolicy(
        new policies.loadBalancing.DCAwareRoundRobinPolicy(config.localDataCenter),
      ),
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(RECONNECT_BASE_MS, RECONNECT_MAX_MS, false),
    },
    socketOptions: { connectTimeout: CONNECT_TIMEOUT_MS, readTimeout: READ_TIMEOUT_MS },
    // Heartbeats on idle connections notice a node that went away without closing its sockets.
    pooling: { heartBeatInterval: 10_000 },
    // Defaults for any statement run without explicit options (the migration's DDL); the store
    // passes its own, documented in conditional-write.ts.
    queryOptions: {
      prepare: true,
      consistency: types.consistencies.localQuorum,
      serialConsistency: types.consistencies.localSerial,
    },
    protocolOptions: { maxSchemaAgreementWaitSeconds: 20 },
  });
}
