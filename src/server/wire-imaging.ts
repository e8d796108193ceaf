import type { Config } from '../config/index.js';
import type { Imaging } from '../domain/imaging.js';
import { ImagingPool } from '../imaging/pool.js';
import { instrumentImaging } from '../metrics/instrumented-imaging.js';
import type { Metrics } from '../metrics/metrics.js';

/** Starts the imaging worker pool and reports its queue and threads as gauges. */
export function wireImaging(config: Config, metrics: Metrics): { pool: ImagingPool; imaging: Imaging } {
  const pool = new ImagingPool({
    threads: config.imaging.threads, maxQueue: config.imaging.maxQueue, maxRenderQueue: config.imaging.maxRenderQueue, limits: config.imaging,
    onTimings: (job, timings) => {
      for (const [stage, seconds] of Object.entries(timings)) metrics.transcodeStage.observe({ job, stage }, seconds);
    },
  });
  metrics.imagingQueueDepth.report((g) => g.set(pool.stats().queued));
  metrics.imagingUtilization.report((g) => g.set(pool.stats().utilization));
  metrics.imagingThreads.report((g) => g.set(pool.stats().threads));
  metrics.imagingQueueCapacity.report((g) => g.set(config.imaging.maxQueue));
  return { pool, imaging: instrumentImaging(pool, metrics) };
}
