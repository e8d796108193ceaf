import type { Imaging, ImagingJobKind, PlaceholderKind, ProcessedUpload } from '../domain/imaging.js';
import type { RenditionFormat } from '../domain/keys.js';
import type { Metrics } from './metrics.js';
import { countOutcome } from './outcomes.js';

/**
 * The Imaging port, counting each job by kind and outcome: `ok`, or the AppError code the job
 * ended with (`busy` when the queue was full, `shutting_down`, an image rejection such as
 * `undecodable_image`), or `internal` for anything else. Codes are a fixed set, so the label
 * stays bounded. Stage timings come from the pool's onTimings; this only counts.
 */
export function instrumentImaging(imaging: Imaging, metrics: Metrics): Imaging {
  // The series alerts divide by exist from the start (0), so a first `busy` is seen by rate().
  for (const job of ['upload', 'render', 'placeholder'] satisfies ImagingJobKind[]) {
    for (const outcome of ['ok', 'busy']) metrics.imagingJobs.inc({ job, outcome }, 0);
  }
  const count = <T>(job: ImagingJobKind, run: () => Promise<T>): Promise<T> =>
    countOutcome(run, 'ok', (outcome) => metrics.imagingJobs.inc({ job, outcome }));
  return {
    processUpload: (input: Uint8Array): Promise<ProcessedUpload> => count('upload', () => imaging.processUpload(input)),
    render: (master: Uint8Array, size: number, format: RenditionFormat): Promise<Buffer> =>
      count('render', () => imaging.render(master, size, format)),
    placeholder: (kind: PlaceholderKind, seed: string, size: number, format: RenditionFormat): Promise<Buffer> =>
      count('placeholder', () => imaging.placeholder(kind, seed, size, format)),
  };
}
