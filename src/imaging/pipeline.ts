import { performance } from 'node:perf_hooks';

/**
 * The machinery of the upload pipeline (see process-upload.ts for the routes themselves): what
 * an upload enters with, its bytes and the limits they are held to; a stage, a named step from
 * one state of the upload to the next; and a route, a list of stages run in order, each timed
 * for the metrics.
 *
 * A state only gains fields along the way (the sniffed format, the probe, the square) and the
 * big byte arrays in it are passed on by reference, so the runner copies no pixels.
 */

/** The stages an upload's time is reported by (the `stage` label of the stage-time metric). */
type StageName = 'sniff' | 'probe' | 'transcode' | 'decode_resize' | 'encode';

/** Wall-clock time spent in each stage of a job, seconds (for metrics). */
export type StageTimings = Partial<Record<StageName, number>>;

/**
 * The limits an upload is checked against from its header, before any pixel is decoded, and
 * the side of the master made from it. Every upload job carries them to its worker thread, so
 * they are plain data. The limit on the body's size is not here: the HTTP layer enforces it as
 * the body arrives, and a body over it never reaches a worker.
 */
export interface ImageLimits {
  /** Largest accepted width*height of the source. Default 50_000_000. */
  maxPixels: number;
  /** Smallest accepted side of the source, pixels. Default 16. */
  minSide: number;
  /** Largest accepted number of frames/pages in the source (only the first is used). Default 1000. */
  maxFrames: number;
  /** Side of the stored square master rendition; smaller sources keep their own side. Default 768. */
  masterSize: number;
}

/** An upload as it enters the pipeline; each stage's state extends it (see sniff.ts onward). */
export interface Upload {
  input: Uint8Array;
  limits: ImageLimits;
}

export interface Stage<In, Out> {
  readonly name: StageName;
  readonly run: (state: In) => Out | Promise<Out>;
}

/** Stages whose every output is the next one's input, taking In and giving Out. */
export class Pipeline<In, Out> {
  private constructor(readonly stages: readonly Stage<never, unknown>[]) {}

  // The overloads check at compile time that each stage takes what the one before it gives.
  static of<A, B>(first: Stage<A, B>): Pipeline<A, B>;
  static of<A, B, C>(first: Stage<A, B>, second: Stage<B, C>): Pipeline<A, C>;
  static of(...stages: Stage<never, unknown>[]): Pipeline<unknown, unknown> {
    return new Pipeline(stages);
  }

  /** Runs the stages in order, recording each one's time in `timings`, the failing one's included. */
  async run(state: In, timings: StageTimings): Promise<Out> {
    let current: unknown = state;
    for (const stage of this.stages) {
      const start = performance.now();
      try {
        current = await stage.run(current as never);
      } finally {
        timings[stage.name] = (performance.now() - start) / 1000;
      }
    }
    return current as Out;
  }
}
