/**
 * The file piscina loads in each worker thread. piscina first tries `require()` on its worker
 * file; on Node 20 that sends an ES module through the still-young require(esm) path, which
 * once aborted the whole process here (V8 "IsGraphAsync must be used on an instantiated
 * module") instead of throwing. This CommonJS shim is required safely and loads the real
 * worker with import(), the ordinary ESM path.
 */
import type { ImagingJob, JobResult } from './jobs.js';

let worker: Promise<(job: ImagingJob) => Promise<JobResult>> | undefined;

export = async function runInWorker(job: ImagingJob): Promise<JobResult> {
  worker ??= import('./worker.js').then((module) => module.default);
  return (await worker)(job);
};
