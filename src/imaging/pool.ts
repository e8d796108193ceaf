import { Piscina } from 'piscina';
// sharp is loaded in the main thread too, though only workers use it: on glibc Linux a worker
// that exits would otherwise unload libvips' shared libraries while other threads still use
// them (https://sharp.pixelplumbing.com/install#worker-threads, lovell/sharp#2263).
import 'sharp';
import { AppError, fail } from '../domain/errors.js';
import type { Imaging, PlaceholderKind, ProcessedUpload } from '../domain/imaging.js';
import type { RenditionFormat } from '../domain/keys.js';
import type { ImagingJob, JobKind, JobResult } from './jobs.js';
import type { ImageLimits, StageTimings } from './pipeline.js';

/**
 * The imaging worker threads. Decoding and encoding are CPU-bound native work; a fixed set of
 * threads with a bounded queue in front keeps the event loop free and turns overload into a
 * quick 503 instead of an ever-growing backlog of multi-megabyte uploads.
 *
 * sharp runs its work on libuv's threadpool, which is one per process and shared by every
 * worker thread (and by fs and crypto in the main thread). With more than a few imaging
 * threads, start the process with UV_THREADPOOL_SIZE of at least threads + 4, or workers
 * will queue for it.
 */

export interface ImagingPoolOptions {
  /** Worker threads, all started at once and kept: a worker loads sharp once, not per job. */
  threads: number;
  /** Upload jobs that may wait for a free thread; one more is refused with 503 `busy`. */
  maxQueue: number;
  /** Render and placeholder jobs that may wait (their own lane); default maxQueue. */
  maxRenderQueue?: number;
  /** Threads render and placeholder jobs may hold at once; default all but one (at least one). */
  renderThreads?: number;
  /** Sent with every upload job: only ImageLimits' own fields are copied, whatever else the object holds. */
  limits: ImageLimits;
  /** Observes the time of each stage, as measured inside the worker, of every successful job. */
  onTimings?: (job: JobKind, timings: StageTimings) => void;
}

interface ImagingPoolStats {
  queued: number;
  running: number;
  threads: number;
  /** Share of the threads busy right now, 0 to 1. */
  utilization: number;
}

/**
 * Two lanes, so a storm of anonymous reads never delays an upload and a burst of uploads never
 * fills the readers' queue: uploads and renders (with placeholders) each wait in their own
 * bounded queue; renders may hold only `renderThreads` of the threads, and a freed thread goes
 * to a waiting upload first. Each lane refuses past its own bound with 503 `busy`.
 *
 * Each lane is its own first-in, first-out queue, and piscina gets a job only when a thread
 * is free. piscina 5.3's own queue was seen to starve a job: under steady load, jobs submitted
 * later kept reaching the free thread first, and one upload waited until the load stopped
 * (20 s in a 20 s benchmark). The test "takes jobs in the order they came" checks the order.
 */
export class ImagingPool implements Imaging {
  readonly #piscina: Piscina<ImagingJob, JobResult>;
  readonly #options: ImagingPoolOptions;
  readonly #limits: ImageLimits;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Jobs waiting for a thread, oldest first, one queue per lane; each entry starts its job. */
  readonly #waiting: Record<Lane, Array<() => void>> = { upload: [], render: [] };
  readonly #bounds: Record<Lane, { queue: number; threads: number }>;
  readonly #running: Record<Lane, number> = { upload: 0, render: 0 };
  #closing: Promise<void> | undefined;

  constructor(options: ImagingPoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new RangeError(`Expected a positive integer for threads but received ${options.threads}`);
    }
    if (!Number.isInteger(options.maxQueue) || options.maxQueue < 0) {
      throw new RangeError(`Expected a non-negative integer for maxQueue but received ${options.maxQueue}`);
    }
    const renderThreads = options.renderThreads ?? Math.max(1, options.threads - 1);
    if (!Number.isInteger(renderThreads) || renderThreads < 1 || renderThreads > options.threads) {
      throw new RangeError(`Expected renderThreads from 1 to threads (${options.threads}) but received ${renderThreads}`);
    }
    const renderQueue = options.maxRenderQueue ?? options.maxQueue;
    if (!Number.isInteger(renderQueue) || renderQueue < 0) {
      throw new RangeError(`Expected a non-negative integer for maxRenderQueue but received ${renderQueue}`);
    }
    this.#options = options;
    this.#bounds = {
      upload: { queue: options.maxQueue, threads: options.threads },
      render: { queue: renderQueue, threads: renderThreads },
    };
    const { maxPixels, minSide, maxFrames, masterSize } = options.limits;
    this.#limits = { maxPixels, minSide, maxFrames, masterSize };
    this.#piscina = new Piscina<ImagingJob, JobResult>({
      // A CommonJS shim that import()s worker.js: see worker-entry.cts for why.
      filename: new URL('./worker-entry.cjs', import.meta.url).href,
      minThreads: options.threads,
      maxThreads: options.threads,
      // piscina's own queue is left unbounded (no maxQueue): this pool hands it at most `threads`
      // jobs at a time (see #admit), so it only ever holds a job whose thread is still starting,
      // and the pool's own queue is the one bound, the one that answers 503 busy.
      // Workers are never retired when idle: terminating a thread mid-way through libvips work
      // can bring the whole process down, and restarting one reloads sharp.
      idleTimeout: Number.POSITIVE_INFINITY,
    });
    // piscina reports a close that timed out as an 'error' event; unhandled, that would
    // crash the process during an otherwise graceful shutdown.
    this.#piscina.on('error', () => {});
  }

  async processUpload(input: Uint8Array): Promise<ProcessedUpload> {
    const done = await this.#run({ kind: 'upload', input, limits: this.#limits });
    if (done.kind !== 'upload') throw new Error(`Expected an upload result but received ${done.kind}`);
    return { ...done.result, master: asBuffer(done.result.master) };
  }

  async render(master: Uint8Array, size: number, format: RenditionFormat): Promise<Buffer> {
    const done = await this.#run({ kind: 'render', master, size, format });
    if (done.kind === 'upload') throw new Error('Expected a render result but received upload');
    return asBuffer(done.bytes);
  }

  async placeholder(kind: PlaceholderKind, seed: string, size: number, format: RenditionFormat): Promise<Buffer> {
    const done = await this.#run({ kind: 'placeholder', placeholder: kind, seed, size, format });
    if (done.kind === 'upload') throw new Error('Expected a placeholder result but received upload');
    return asBuffer(done.bytes);
  }

  stats(): ImagingPoolStats {
    const threads = this.#options.threads;
    const queued = this.#waiting.upload.length + this.#waiting.render.length;
    const running = this.#running.upload + this.#running.render;
    return { queued, running, threads, utilization: running / threads };
  }

  /** Refuses new jobs, waits for every queued and running job to finish, then stops the threads. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await this.#piscina.close();
    })();
    return this.#closing;
  }

  async #run(job: ImagingJob): Promise<Extract<JobResult, { ok: true }>> {
    if (this.#closing) {
      throw fail('shutting_down');
    }
    // Released only by a job that was admitted: a refused one never held a thread.
    const lane: Lane = job.kind === 'upload' ? 'upload' : 'render';
    const task = this.#admit(lane).then(() => this.#piscina.run(job).finally(() => this.#release(lane)));
    this.#inFlight.add(task);
    let result: JobResult;
    try {
      result = await task;
    } finally {
      this.#inFlight.delete(task);
    }
    if (!result.ok) {
      throw new AppError(result.status, result.code, result.message, result.headers);
    }
    this.#options.onTimings?.(job.kind, result.timings);
    return result;
  }

  /** Resolves when the job may start: at once if its lane may take a free thread, else in turn; busy if its lane's queue is full. */
  #admit(lane: Lane): Promise<void> {
    if (this.#mayStart(lane)) {
      this.#running[lane] += 1;
      return Promise.resolve();
    }
    if (this.#waiting[lane].length >= this.#bounds[lane].queue) {
      return Promise.reject(fail('busy'));
    }
    return new Promise((resolve) => this.#waiting[lane].push(resolve));
  }

  #mayStart(lane: Lane): boolean {
    const total = this.#running.upload + this.#running.render;
    return total < this.#options.threads && this.#running[lane] < this.#bounds[lane].threads;
  }

  /** The freed thread goes to the oldest waiting upload, else to the oldest waiting render if renders may take it. */
  #release(lane: Lane): void {
    this.#running[lane] -= 1;
    for (const next of ['upload', 'render'] as const) {
      const start = this.#waiting[next][0];
      if (start && this.#mayStart(next)) {
        this.#waiting[next].shift();
        this.#running[next] += 1;
        start();
        return;
      }
    }
  }
}

/** Uploads in one lane; renders and placeholders, the anonymous work, in the other. */
type Lane = 'upload' | 'render';

// Structured cloning turns the worker's Buffers into plain Uint8Arrays; wrap without copying.
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
