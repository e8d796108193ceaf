import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { AppError } from '../domain/errors.js';
import type { ImagingJob, JobResult } from './jobs.js';
import { renderPlaceholder } from './placeholders.js';
import { processUpload } from './process-upload.js';
import { renderRendition } from './render.js';

/**
 * The piscina worker: one job at a time per thread.
 *
 * Parallelism comes from the pool's threads, so libvips is told to use one thread per image
 * and to keep no operation cache. Both settings are process-wide in libvips (all workers and
 * the main thread share one libvips), and every thread that loads sharp resets the cache to
 * its default, so each worker sets them again after loading. More threads per image would only
 * add hand-offs where a server has a core per imaging thread: on one core, an upload costs the
 * same CPU with 1 or 2 libvips threads and a few percent more with 4 (npm run bench:imaging).
 *
 * Results are returned as structured clones rather than moved (Piscina.move): sharp's output
 * Buffers are backed by libvips-owned (external) memory, which Node cannot transfer and
 * silently copies anyway, and the largest result, a master, is around a megabyte.
 */
sharp.concurrency(1);
sharp.cache(false);

export default async function runImagingJob(job: ImagingJob): Promise<JobResult> {
  try {
    switch (job.kind) {
      case 'upload': {
        const { result, timings } = await processUpload(job.input, job.limits);
        return { ok: true, kind: 'upload', result, timings };
      }
      case 'render': {
        const start = performance.now();
        const bytes = await renderRendition(job.master, job.size, job.format);
        // decode, resize and encode run fused in one libvips pipeline; the encoder drives it.
        return { ok: true, kind: 'render', bytes, timings: { encode: (performance.now() - start) / 1000 } };
      }
      case 'placeholder': {
        const start = performance.now();
        const bytes = await renderPlaceholder(job.placeholder, job.seed, job.size, job.format);
        return { ok: true, kind: 'placeholder', bytes, timings: { encode: (performance.now() - start) / 1000 } };
      }
    }
  } catch (error) {
    if (error instanceof AppError) {
      return { ok: false, status: error.status, code: error.code, message: error.message, headers: { ...error.headers } };
    }
    // Anything else is a bug or a broken stored master: let piscina reject, so the edge
    // answers 500 and logs it.
    throw error;
  }
}
