import path from 'node:path';
import type { AvatarSettings } from '../domain/avatars.js';
import { parseEnv, type Env } from './config.js';

export { ConfigError } from './config.js';

export type MetadataConfig =
  | {
      kind: 'embedded'; path: string;
      /** Held back beside the database so that deletes commit on a full volume. */
      reserveBytes: number;
    }
  | { kind: 'cassandra'; contactPoints: string[]; localDataCenter: string; keyspace: string; replicationFactor: number };

export type BlobsConfig =
  | {
      kind: 'fs'; root: string;
      /** Readiness reports the store full below this much free space. */
      minFreeBytes: number;
    }
  | {
      kind: 's3'; endpoint: string | undefined; bucket: string; region: string; forcePathStyle: boolean;
      /** Prepended to every key, so several deployments (or test runs) can share one bucket. */
      prefix: string;
    };

export interface ReadPathConfig extends AvatarSettings {
  /** Cache-Control max-age of `/{username}`, seconds. */
  maxAgeSeconds: number;
  staleWhileRevalidateSeconds: number;
  defaultSize: number;
  /** How long another node may serve a previous active picture: the cross-node staleness bound. */
  activeTtlMs: number;
  activeEntries: number;
  renditionCacheBytes: number;
  /** The generated placeholders' own cache, apart from pictures' renditions. */
  placeholderCacheBytes: number;
  /** Hosts `d=<url>` may redirect to; empty means any http(s) host. */
  redirectHosts: string[];
}

/** Upload limits and the imaging worker pool. */
interface ImagingConfig {
  /** Largest accepted upload body, bytes; the HTTP layer enforces it as the body arrives. */
  maxBytes: number;
  /** Largest accepted width*height of the source. */
  maxPixels: number;
  /** Smallest accepted side of the source, pixels. */
  minSide: number;
  /** Largest accepted number of frames/pages in the source (only the first is used). */
  maxFrames: number;
  /** Side of the stored square master; smaller sources keep their own side. */
  masterSize: number;
  /** Imaging worker threads. */
  threads: number;
  /** Upload jobs that may wait for a thread before new ones are refused with 503 busy. */
  maxQueue: number;
  /** Render and placeholder jobs (the read path's lane) that may wait for a thread. */
  maxRenderQueue: number;
}

interface AuthConfig {
  tokenTtlMs: number;
  loginWindowMs: number;
  failuresPerAccount: number;
  failuresPerIp: number;
  trustProxy: boolean;
}

export interface Config {
  server: {
    port: number; host: string; metricsPort: number; shutdownTimeoutMs: number; publicUrl: string | undefined; logLevel: string;
    /** Open descriptors at which to stop accepting; 0 for the automatic cap (server/connection-cap.ts). */
    maxConnections: number;
  };
  metadata: MetadataConfig;
  blobs: BlobsConfig;
  read: ReadPathConfig;
  imaging: ImagingConfig;
  auth: AuthConfig;
  /** Body bytes in flight on the node, and uploads in flight per account. */
  uploads: { bytesInFlight: number; perAccount: number };
  sweeper: { intervalMs: number; graceMs: number };
}

/** Reads the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return toConfig(parseEnv(env));
}

function toConfig(e: Env): Config {
  const dataDir = path.resolve(e.ONEPIC_DATA_DIR);
  const reserveBytes = e.ONEPIC_DISK_RESERVE_MB * 1024 * 1024;
  return {
    server: {
      port: e.PORT, host: e.HOST, metricsPort: e.ONEPIC_METRICS_PORT,
      shutdownTimeoutMs: e.ONEPIC_SHUTDOWN_TIMEOUT_SECONDS * 1000,
      publicUrl: e.ONEPIC_PUBLIC_URL?.replace(/\/+$/, ''), logLevel: e.ONEPIC_LOG_LEVEL,
      maxConnections: e.ONEPIC_MAX_CONNECTIONS,
    },
    metadata: e.ONEPIC_METADATA === 'embedded'
      ? { kind: 'embedded', path: path.join(dataDir, 'metadata.sqlite'), reserveBytes }
      : {
          kind: 'cassandra', contactPoints: e.ONEPIC_CASSANDRA_CONTACT_POINTS, localDataCenter: e.ONEPIC_CASSANDRA_LOCAL_DC,
          keyspace: e.ONEPIC_CASSANDRA_KEYSPACE, replicationFactor: e.ONEPIC_CASSANDRA_REPLICATION_FACTOR,
        },
    blobs: e.ONEPIC_BLOBS === 'fs'
      ? { kind: 'fs', root: path.join(dataDir, 'blobs'), minFreeBytes: reserveBytes }
      : { kind: 's3', endpoint: e.ONEPIC_S3_ENDPOINT, bucket: e.ONEPIC_S3_BUCKET, region: e.ONEPIC_S3_REGION, forcePathStyle: e.ONEPIC_S3_FORCE_PATH_STYLE, prefix: e.ONEPIC_S3_PREFIX },
    read: {
      maxAgeSeconds: e.ONEPIC_CACHE_MAX_AGE, staleWhileRevalidateSeconds: e.ONEPIC_CACHE_STALE_WHILE_REVALIDATE,
      defaultSize: e.ONEPIC_DEFAULT_SIZE, maxSize: e.ONEPIC_MAX_SIZE,
      activeTtlMs: e.ONEPIC_ACTIVE_CACHE_TTL_MS, activeEntries: e.ONEPIC_ACTIVE_CACHE_ENTRIES,
      renditionCacheBytes: e.ONEPIC_RENDITION_CACHE_MB * 1024 * 1024,
      placeholderCacheBytes: e.ONEPIC_PLACEHOLDER_CACHE_MB * 1024 * 1024,
      storedSizes: storedSizes(e.ONEPIC_MASTER_SIZE, e.ONEPIC_MAX_SIZE),
      redirectHosts: e.ONEPIC_REDIRECT_HOSTS.map((h) => h.toLowerCase()),
    },
    imaging: {
      maxBytes: e.ONEPIC_MAX_UPLOAD_BYTES, maxPixels: e.ONEPIC_MAX_PIXELS, minSide: e.ONEPIC_MIN_SIDE,
      maxFrames: e.ONEPIC_MAX_FRAMES, masterSize: e.ONEPIC_MASTER_SIZE,
      threads: e.ONEPIC_WORKERS, maxQueue: e.ONEPIC_WORKER_QUEUE, maxRenderQueue: e.ONEPIC_RENDER_QUEUE,
    },
    auth: {
      tokenTtlMs: e.ONEPIC_TOKEN_TTL_DAYS * 86_400_000, loginWindowMs: e.ONEPIC_LOGIN_WINDOW_SECONDS * 1000,
      failuresPerAccount: e.ONEPIC_LOGIN_FAILURES_PER_ACCOUNT, failuresPerIp: e.ONEPIC_LOGIN_FAILURES_PER_IP,
      trustProxy: e.ONEPIC_TRUST_PROXY,
    },
    uploads: { bytesInFlight: e.ONEPIC_UPLOAD_BYTES_IN_FLIGHT, perAccount: e.ONEPIC_UPLOADS_PER_ACCOUNT },
    sweeper: { intervalMs: Math.round(e.ONEPIC_SWEEP_INTERVAL_SECONDS * 1000), graceMs: Math.round(e.ONEPIC_SWEEP_GRACE_SECONDS * 1000) },
  };
}

/**
 * The stored sizes: a fixed ladder of the sizes pages ask for most, and the master's side, which
 * the API hands out in Picture.url. Bounded by design: seven renditions per format at most.
 */
function storedSizes(masterSize: number, maxSize: number): number[] {
  return [...new Set([32, 64, 128, 256, 512, masterSize])].filter((s) => s <= Math.min(masterSize, maxSize));
}
