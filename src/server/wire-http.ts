import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { createHttpServer, type HttpServer } from '../http/app.js';
import { metricsRoutes, routes } from '../http/routes/index.js';
import type { Metrics } from '../metrics/metrics.js';
import type { UseCases } from './wire-use-cases.js';
import type { Stores } from './wire-stores.js';

const OPENAPI_PATH = new URL('../../docs/openapi.yaml', import.meta.url);

interface Serving {
  /** The main server first, then the metrics server when it has its own port. */
  servers: HttpServer[];
  port: number;
  metricsPort: number;
}

/** Builds the route table over the use cases and starts listening: the API, and /metrics on its own port when configured. */
export async function startServers(
  config: Config, deps: { log: Logger; metrics: Metrics; stores: Stores; useCases: UseCases; isDraining: () => boolean },
): Promise<Serving> {
  const { log, metrics, stores: { store, blobs }, useCases: { accounts, pictures, avatars } } = deps;
  const metricsOnOwnPort = config.server.metricsPort !== 0;
  const table = routes({
    opsRoutes: {
      readiness: { metadata: () => store.ping(), blobs: () => blobs.ping() }, isDraining: deps.isDraining,
      registry: metrics.registry, openapi: readFileSync(OPENAPI_PATH, 'utf8'),
    },
    accountRoutes: { removeAccount: (p) => pictures.removeAccount(p), publicUrl: config.server.publicUrl ?? '' },
    pictureRoutes: { pictures, metrics },
    avatars,
    read: config.read,
    accounts,
    maxUploadBytes: config.imaging.maxBytes,
    uploadBudget: config.uploads,
    metricsOnOwnPort,
  });
  const servers: HttpServer[] = [createHttpServer(table, { metrics, log, trustProxy: config.auth.trustProxy })];
  const port = await servers[0]!.listen(config.server.host, config.server.port);
  if (!metricsOnOwnPort) return { servers, port, metricsPort: port };
  servers.push(createHttpServer(metricsRoutes(metrics.registry), { metrics, log, trustProxy: false }));
  await servers[1]!.listen(config.server.host, config.server.metricsPort);
  return { servers, port, metricsPort: config.server.metricsPort };
}
