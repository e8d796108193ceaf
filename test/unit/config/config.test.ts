import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.js';

describe('configuration from the environment', () => {
  it('has the contract defaults with nothing set', () => {
    const c = loadConfig({});
    expect(c.server).toMatchObject({ port: 8080, host: '0.0.0.0' });
    // /metrics is not public by default: it has its own port, which the proxy does not expose.
    expect(c.server.metricsPort).toBe(9464);
    expect(loadConfig({ ONEPIC_METRICS_PORT: '0' }).server.metricsPort).toBe(0);
    expect(c.metadata).toMatchObject({ kind: 'embedded' });
    expect(c.metadata.kind === 'embedded' && c.metadata.path).toMatch(/data[/\\]metadata\.sqlite$/);
    expect(c.blobs).toMatchObject({ kind: 'fs' });
    expect(c.read).toMatchObject({ maxAgeSeconds: 60, defaultSize: 256, maxSize: 2048, activeTtlMs: 5000 });
    expect(c.imaging).toMatchObject({ maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000, minSide: 16 });
  });

  it('reads the Cassandra and S3 settings', () => {
    const c = loadConfig({
      ONEPIC_METADATA: 'cassandra', ONEPIC_CASSANDRA_CONTACT_POINTS: 'a:9042, b', ONEPIC_CASSANDRA_KEYSPACE: 'ks',
      ONEPIC_BLOBS: 's3', ONEPIC_S3_ENDPOINT: 'http://127.0.0.1:9000', ONEPIC_S3_BUCKET: 'pics',
    });
    expect(c.metadata).toEqual({ kind: 'cassandra', contactPoints: ['a:9042', 'b'], localDataCenter: 'datacenter1', keyspace: 'ks', replicationFactor: 1 });
    expect(c.blobs).toMatchObject({ kind: 's3', endpoint: 'http://127.0.0.1:9000', bucket: 'pics', region: 'us-east-1' });
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'abc', ONEPIC_METADATA: 'mongo', ONEPIC_MAX_PIXELS: '-5', ONEPIC_S3_ENDPOINT: 'not a url', ONEPIC_TRUST_PROXY: 'yes' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'ONEPIC_METADATA', 'ONEPIC_MAX_PIXELS', 'ONEPIC_S3_ENDPOINT', 'ONEPIC_TRUST_PROXY']) {
      expect(problems).toContain(name);
    }
    expect((error as ConfigError).problems).toHaveLength(5);
  });

  it('takes the sweep timings in seconds, to the millisecond, with hourly defaults', () => {
    expect(loadConfig({}).sweeper).toEqual({ intervalMs: 3_600_000, graceMs: 3_600_000 });
    expect(loadConfig({ ONEPIC_SWEEP_INTERVAL_SECONDS: '0.05', ONEPIC_SWEEP_GRACE_SECONDS: '1.5' }).sweeper).toEqual({ intervalMs: 50, graceMs: 1500 });
    expect(loadConfig({ ONEPIC_SWEEP_INTERVAL_SECONDS: '0', ONEPIC_SWEEP_GRACE_SECONDS: '7200' }).sweeper).toEqual({ intervalMs: 0, graceMs: 7_200_000 });
    for (const bad of ['-1', '0.0001', '1e3', 'soon', '604801']) {
      expect(() => loadConfig({ ONEPIC_SWEEP_GRACE_SECONDS: bad }), bad).toThrow(/ONEPIC_SWEEP_GRACE_SECONDS/);
    }
  });

  it('checks settings against each other', () => {
    expect(() => loadConfig({ ONEPIC_DEFAULT_SIZE: '512', ONEPIC_MAX_SIZE: '256' })).toThrow(/ONEPIC_DEFAULT_SIZE/);
    expect(() => loadConfig({ PORT: '9000', ONEPIC_METRICS_PORT: '9000' })).toThrow(/ONEPIC_METRICS_PORT/);
    expect(() => loadConfig({ PORT: '9464' })).toThrow(/ONEPIC_METRICS_PORT/);
  });
});
