import type { Logger } from 'pino';
import type { HttpServer } from '../http/app.js';

interface Running {
  servers: HttpServer[];
  stopSweeper: () => Promise<void>;
  /** Closes the imaging pool after the last request that could use it. */
  closeImaging: () => Promise<void>;
  /** Closes the stores last, once nothing can reach them. */
  closeStores: () => Promise<unknown>;
}

/**
 * A graceful shutdown on SIGTERM or SIGINT: stop accepting, let requests in flight finish (or
 * exit 1 after `timeoutMs`), stop the sweeper, close the pool, the connections and the stores,
 * then exit 0. `onDrain` is told first, so readiness answers "draining" from then on.
 */
export function shutdownOnSignals(running: Running, log: Logger, timeoutMs: number, onDrain: () => void): void {
  let draining = false;
  const shutdown = async (signal: string) => {
    if (draining) return;
    draining = true;
    onDrain();
    log.info({ signal }, 'draining: no new connections, finishing requests in flight');
    for (const s of running.servers) s.stopAccepting();
    const deadline = setTimeout(() => {
      log.error('shutdown timed out with requests in flight; exiting');
      process.exit(1);
    }, timeoutMs);
    deadline.unref();
    await Promise.all(running.servers.map((s) => s.idle()));
    await running.stopSweeper();
    await running.closeImaging();
    for (const s of running.servers) s.close();
    await running.closeStores();
    log.info('stopped');
    log.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
