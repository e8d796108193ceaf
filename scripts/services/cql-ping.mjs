// Exit 0 when a CQL query answers at the contact point given as the argument (host:port).
import cassandra from 'cassandra-driver';

const client = new cassandra.Client({
  contactPoints: [process.argv[2] ?? '127.0.0.1:9042'],
  localDataCenter: process.env.ONEPIC_CASSANDRA_LOCAL_DC ?? 'datacenter1',
  socketOptions: { connectTimeout: 3000, readTimeout: 5000 },
});
try {
  const rs = await client.execute('SELECT release_version FROM system.local');
  console.log(rs.first().get('release_version'));
  process.exitCode = 0;
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await client.shutdown().catch(() => {});
}
