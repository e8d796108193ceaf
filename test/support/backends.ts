import { createHash } from 'node:crypto';

/**
 * Which stores the servers of the end-to-end suites run on. `npm test` runs them on the
 * embedded stores (each server its own data dir); `npm run test:integration` sets
 * ONEPIC_E2E_BACKENDS=services and every server runs on the local Cassandra and MinIO, with a
 * keyspace and a key prefix of its own derived from its data dir, so that servers stay as
 * isolated as with the embedded stores, and a restart on the same data dir finds its data again.
 */
export const ON_SERVICES = process.env.ONEPIC_E2E_BACKENDS === 'services';

const PASSED_THROUGH = [
  'ONEPIC_CASSANDRA_CONTACT_POINTS', 'ONEPIC_CASSANDRA_LOCAL_DC', 'ONEPIC_S3_ENDPOINT', 'ONEPIC_S3_BUCKET', 'ONEPIC_S3_REGION',
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION',
] as const;

/** The environment that puts a server with this data dir on the configured backends. */
export function backendEnv(dataDir: string): Record<string, string> {
  if (!ON_SERVICES) return {};
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const env: Record<string, string> = {
    ONEPIC_METADATA: 'cassandra', ONEPIC_CASSANDRA_KEYSPACE: `e2e_${id}`,
    ONEPIC_BLOBS: 's3', ONEPIC_S3_PREFIX: `e2e-${id}/`,
  };
  for (const name of PASSED_THROUGH) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return env;
}
