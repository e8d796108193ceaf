import type { ErrorCode } from '../domain/errors.js';
import type { PlaceholderKind, ProcessedUpload } from '../domain/imaging.js';
import type { RenditionFormat } from '../domain/keys.js';
import type { ImageLimits, StageTimings } from './pipeline.js';

/**
 * What crosses the worker-thread boundary, both ways. Messages are structured clones: class
 * identity (AppError) and Buffer-ness are lost on the way, so failures travel as tagged data
 * and the pool rebuilds the AppError, and byte arrays arrive as plain Uint8Arrays.
 */

export type ImagingJob =
  | { kind: 'upload'; input: Uint8Array; limits: ImageLimits }
  | { kind: 'render'; master: Uint8Array; size: number; format: RenditionFormat }
  | { kind: 'placeholder'; placeholder: PlaceholderKind; seed: string; size: number; format: RenditionFormat };

export type JobKind = ImagingJob['kind'];

/** A failure the client caused (bad upload): the fields of the AppError to rebuild. */
interface JobFailure {
  ok: false;
  status: number;
  code: ErrorCode;
  message: string;
  headers: Record<string, string>;
}

type JobSuccess =
  | { ok: true; kind: 'upload'; result: ProcessedUpload; timings: StageTimings }
  | { ok: true; kind: 'render' | 'placeholder'; bytes: Uint8Array; timings: StageTimings };

export type JobResult = JobSuccess | JobFailure;
