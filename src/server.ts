import { pino, type Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config/index.js';
import { Metrics } from './metrics/metrics.js';
import { capConnections } from './server/connection-cap.js';
import { shutdownOnSignals } from './server/shutdown.js';
import { startServers } from './server/wire-http.js';
import { wireImaging } from './server/wire-imaging.js';
import { startSweeping } from './server/wire-sweeper.js';
import { wireStores } from './server/wire-stores.js';
import { wireUseCases } from './server/wire-use-cases.js';

/**
 * The one wiring point: config -> stores -> pools -> caches and use cases -> routes -> servers
 * -> sweeper, and graceful shutdown on SIGTERM/SIGINT. Each step is a function in `server/`;
 * these files, with main.ts, are the only ones that import every folder.
 */
export async function start(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger(config);
  const metrics = new Metrics();
  const stores = await wireStores(config, metrics);
  const { pool, imaging } = wireImaging(config, metrics);
  const useCases = wireUseCases(config, stores, imaging, metrics);
  let draining = false;
  const { servers, port, metricsPort } = await startServers(config, { log, metrics, stores, useCases, isDraining: () => draining })
    .catch((err: unknown) => refuseToStart(log, err));
  const connectionCap = capConnections(servers, config.server.maxConnections, { log, metrics });
  const stopSweeper = startSweeping(config, stores, useCases.pictures, metrics, log);

  log.info({ port, metricsPort, connectionCap, metadata: config.metadata.kind, blobs: config.blobs.kind }, 'OnePic listening');

  shutdownOnSignals({
    servers, stopSweeper, closeImaging: () => pool.close(),
    closeStores: () => Promise.allSettled([stores.store.close(), stores.blobs.close()]),
  }, log, config.server.shutdownTimeoutMs, () => { draining = true; });
}

/** A port taken or not permitted: say which, and exit 1 rather than run half-started. */
function refuseToStart(log: Logger, err: unknown): never {
  log.fatal({ reason: err instanceof Error ? err.message : String(err) }, 'OnePic cannot start');
  process.exit(1);
}

/** The configuration, or exit 2 with every problem listed. */
function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}

function createLogger(config: Config): Logger {
  const log = pino({ level: config.server.logLevel, base: { service: 'onepic' }, redact: ['req.headers.authorization', '*.password', '*.token'] });
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  return log;
}
