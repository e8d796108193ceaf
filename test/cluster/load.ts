import { distinctJpeg } from '../fixtures/distinct-jpeg.js';
import { upload } from '../support/http.js';
import { sleep } from '../support/timing.js';

/**
 * Steady traffic through nginx while a test breaks things: readers fetch random users' avatars,
 * uploaders post pictures of random users. Every request is recorded with its start and end
 * time, its status (0 when the connection failed) and the node that answered (X-Upstream), so
 * a test can count the errors of a time window and find what was in flight at an instant.
 */

export interface LoadUser { name: string; token: string }

export interface Picture { id: string; url: string; bytes: number; width: number; height: number; active: boolean }

export interface Outcome {
  kind: 'read' | 'upload';
  user: string;
  start: number;
  end: number;
  status: number;
  node: number;
  error?: string;
  /** Uploads: the picture answered with 201, and the seed of the image sent. */
  picture?: Picture;
  seed?: number;
}

export interface LoadOptions {
  readers: number;
  uploaders: number;
  /** Pause of each reader between requests, ms (bounds the read rate on a small machine). */
  readPauseMs: number;
  uploadPauseMs: number;
  /** Seeds of the images to upload (distinctJpeg); each is used once. */
  seeds: number[];
  imageSide: number;
}


export class Load {
  readonly outcomes: Outcome[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private images = new Map<number, Buffer>();
  private nextSeed = 0;

  constructor(
    private readonly base: string,
    private readonly users: LoadUser[],
    private readonly nodeOf: (upstream: string | null) => number,
    private readonly options: LoadOptions,
  ) {}

  /** Encodes the images up front, so the load loop spends no CPU on them. */
  async prepare(): Promise<void> {
    for (const seed of this.options.seeds) this.images.set(seed, await distinctJpeg(seed, this.options.imageSide));
  }

  sourceOf(seed: number): Buffer {
    return this.images.get(seed)!;
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.options.readers; i++) this.loops.push(this.readLoop());
    for (let i = 0; i < this.options.uploaders; i++) this.loops.push(this.uploadLoop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private pick(): LoadUser {
    return this.users[Math.floor(Math.random() * this.users.length)]!;
  }

  private async readLoop(): Promise<void> {
    const sizes = [32, 48, 64];
    while (this.running) {
      const user = this.pick();
      const size = sizes[Math.floor(Math.random() * sizes.length)]!;
      await this.record('read', user.name, async () => fetch(`${this.base}/${user.name}?s=${size}`, { signal: AbortSignal.timeout(15_000) }));
      await sleep(this.options.readPauseMs);
    }
  }

  private async uploadLoop(): Promise<void> {
    while (this.running && this.nextSeed < this.options.seeds.length) {
      const seed = this.options.seeds[this.nextSeed++]!;
      const user = this.pick();
      const query = seed % 4 === 0 ? '?active=true' : '';
      await this.record('upload', user.name, () => upload(this.base, user.name, user.token, this.images.get(seed)!, query), seed);
      await sleep(this.options.uploadPauseMs);
    }
  }

  /** Sends one request and records it; an upload answered 201 keeps its Picture. */
  async record(kind: Outcome['kind'], user: string, send: () => Promise<Response>, seed?: number): Promise<Outcome> {
    const start = Date.now();
    const outcome: Outcome = { kind, user, start, end: start, status: 0, node: 0, seed };
    try {
      const res = await send();
      const body = Buffer.from(await res.arrayBuffer());
      outcome.status = res.status;
      outcome.node = this.nodeOf(res.headers.get('x-upstream'));
      if (kind === 'upload' && res.status === 201) outcome.picture = JSON.parse(body.toString()) as Picture;
      if (res.status >= 400) outcome.error = body.subarray(0, 200).toString();
    } catch (err) {
      outcome.error = String((err as Error).cause ?? err);
    }
    outcome.end = Date.now();
    this.outcomes.push(outcome);
    return outcome;
  }
}

/** Reads answered other than 200, and uploads answered other than 201 (0: no answer). */
export function failed(o: Outcome): boolean {
  return o.kind === 'read' ? o.status !== 200 : o.status !== 201;
}

/** Counts and ratio of the failed requests of one kind among those started in [from, to). */
export function errorRatio(outcomes: Outcome[], kind: Outcome['kind'], from: number, to: number) {
  const inWindow = outcomes.filter((o) => o.kind === kind && o.start >= from && o.start < to);
  const errors = inWindow.filter(failed);
  return {
    requests: inWindow.length,
    errors: errors.length,
    ratio: inWindow.length ? errors.length / inWindow.length : 0,
    statuses: countBy(errors.map((o) => String(o.status))),
  };
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
