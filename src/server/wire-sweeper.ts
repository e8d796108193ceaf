import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Pictures } from '../domain/pictures.js';
import { startSweeper, sweepOrphans } from '../domain/sweeper.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Stores } from './wire-stores.js';

/**
 * Starts the periodic orphan sweep (blobs no picture names, after a grace period) and the blob
 * backend's own housekeeping with it. Returns the function that stops it and waits for a sweep
 * in progress.
 */
export function startSweeping(
  config: Config, { store, blobs, housekeeping }: Stores, pictures: Pictures, metrics: Metrics, log: Logger,
): () => Promise<void> {
  const sweep = async () => {
    const result = await sweepOrphans(store, blobs, {
      graceMs: config.sweeper.graceMs, locks: pictures.locks, onRemoved: () => metrics.orphansCollected.inc(),
    });
    await housekeeping(config.sweeper.graceMs);
    log.info(result, 'orphan sweep done');
  };
  return startSweeper(sweep, config.sweeper.intervalMs, (err) => log.error({ err }, 'orphan sweep failed'));
}
