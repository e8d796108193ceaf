import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { ActiveCache } from './cache/active-cache.js';
import { RenditionCache } from './cache/rendition-cache.js';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { Accounts } from './domain/accounts.js';
import { Avatars } from './domain/avatars.js';
import { LoginThrottle } from './domain/login-throttle.js';
import { Pictures } from './domain/pictures.js';
import { startSweeper, sweepOrphans } from './domain/sweeper.js';
import { createHttpServer, type HttpServer } from './http/app.js';
import { accountRoutes } from './http/routes/accounts.js';
import { avatarRoutes } from './http/routes/avatars.js';
import { metricsRoute, opsRoutes } from './http/routes/ops.js';
import { pictureRoutes } from './http/routes/pictures.js';
import { ImagingPool } from './imaging/pool.js';
import { instrumentImaging } from './metrics/instrumented-imaging.js';
import { instrumentBlobStore, instrumentMetadataStore } from './metrics/instrumented-stores.js';
import { Metrics } from './metrics/metrics.js';
import { openBlobStore, openMetadataStore } from './stores.js';

const OPENAPI_PATH = new URL('../docs/openapi.yaml', import.meta.url);

/** The one wiring point: config -> stores -> pools -> HTTP, and graceful shutdown on SIGTERM/SIGINT. */
export async function start(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const log = pino({ level: config.server.logLevel, base: { service: 'onepic' }, redact: ['req.headers.authorization', '*.password', '*.token'] });
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  const metrics = new Metrics();
  // Everything above the ports sees the instrumented stores, so every operation is timed.
  const store = instrumentMetadataStore(await openMetadataStore(config.metadata), config.metadata.kind, metrics);
  const opened = await openBlobStore(config.blobs);
  const blobs = instrumentBlobStore(opened.blobs, config.blobs.kind, metrics);
  const pool = new ImagingPool({
    threads: config.imaging.threads, maxQueue: config.imaging.maxQueue, limits: config.imaging,
    onTimings: (job, timings) => {
      for (const [stage, seconds] of Object.entries(timings)) metrics.transcodeStage.observe({ job, stage }, seconds);
    },
  });
  metrics.imagingQueueDepth.report((g) => g.set(pool.stats().queued));
  metrics.imagingUtilization.report((g) => g.set(pool.stats().utilization));
  metrics.imagingThreads.report((g) => g.set(pool.stats().threads));
  metrics.imagingQueueCapacity.report((g) => g.set(config.imaging.maxQueue));
  const imaging = instrumentImaging(pool, metrics);

  const active = new ActiveCache(store, { ttlMs: config.read.activeTtlMs, maxEntries: config.read.activeEntries }, metrics);
  const renditions = new RenditionCache({ maxBytes: config.read.renditionCacheBytes }, metrics);
  const accounts = new Accounts(store, {
    tokenTtlMs: config.auth.tokenTtlMs,
    throttle: new LoginThrottle({
      windowMs: config.auth.loginWindowMs, failuresPerAccount: config.auth.failuresPerAccount, failuresPerIp: config.auth.failuresPerIp,
    }),
  });
  // Uploads take milliseconds from blob put to metadata insert; a minute is a wide margin.
  const pictures = new Pictures(store, blobs, imaging, active, renditions, { recentWriteMs: Math.min(60_000, config.sweeper.graceMs) });
  const avatars = new Avatars(active, renditions, blobs, imaging, config.read);

  let draining = false;
  const separateMetrics = config.server.metricsPort !== 0;
  const routes = [
    ...opsRoutes({
      readiness: { metadata: () => store.ping(), blobs: () => blobs.ping() }, isDraining: () => draining,
      registry: separateMetrics ? null : metrics.registry, openapi: readFileSync(OPENAPI_PATH, 'utf8'),
    }),
    ...accountRoutes({ accounts, removeAccount: (p) => pictures.removeAccount(p), publicUrl: config.server.publicUrl ?? '' }),
    ...pictureRoutes({ accounts, pictures, metrics, maxUploadBytes: config.imaging.maxBytes }),
    ...avatarRoutes(avatars, config.read),
  ];
  const servers: HttpServer[] = [createHttpServer(routes, { metrics, log, trustProxy: config.auth.trustProxy })];
  const port = await servers[0]!.listen(config.server.host, config.server.port);
  if (separateMetrics) {
    servers.push(createHttpServer([metricsRoute(metrics.registry)], { metrics, log, trustProxy: false }));
    await servers[1]!.listen(config.server.host, config.server.metricsPort);
  }

  const sweep = async () => {
    const result = await sweepOrphans(store, blobs, {
      graceMs: config.sweeper.graceMs, locks: pictures.locks, onRemoved: () => metrics.orphansCollected.inc(),
    });
    await opened.housekeeping(config.sweeper.graceMs);
    log.info(result, 'orphan sweep done');
  };
  const stopSweeper = startSweeper(sweep, config.sweeper.intervalMs, (err) => log.error({ err }, 'orphan sweep failed'));

  log.info({ port, metricsPort: separateMetrics ? config.server.metricsPort : port, metadata: config.metadata.kind, blobs: config.blobs.kind }, 'OnePic listening');

  const shutdown = async (signal: string) => {
    if (draining) return;
    draining = true;
    log.info({ signal }, 'draining: no new connections, finishing requests in flight');
    for (const s of servers) s.stopAccepting();
    const deadline = setTimeout(() => {
      log.error('shutdown timed out with requests in flight; exiting');
      process.exit(1);
    }, config.server.shutdownTimeoutMs);
    deadline.unref();
    await Promise.all(servers.map((s) => s.idle()));
    await stopSweeper();
    await pool.close();
    for (const s of servers) s.close();
    await Promise.allSettled([store.close(), blobs.close()]);
    log.info('stopped');
    log.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}


