import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as ErrorsModule from '../../../src/domain/errors.js';
import type * as PoolModule from '../../../src/imaging/pool.js';
import { processUpload } from '../../../src/imaging/process-upload.js';
import { renderPlaceholder } from '../../../src/imaging/placeholders.js';
import * as images from '../../fixtures/images.js';

/**
 * The pool runs its stages in worker threads, which load real JavaScript: these tests use the
 * built pool in dist/ (`npm test` builds first). Its AppError is dist's class, not src's, so
 * instanceof checks use the class from dist too.
 */
const dist = new URL('../../../dist/', import.meta.url);
let ImagingPool: typeof PoolModule.ImagingPool;
let AppError: typeof ErrorsModule.AppError;

beforeAll(async () => {
  assertBuildIsFresh();
  ({ ImagingPool } = (await import(new URL('imaging/pool.js', dist).href)) as typeof PoolModule);
  ({ AppError } = (await import(new URL('domain/errors.js', dist).href)) as typeof ErrorsModule);
});

// A stale dist/ would test yesterday's code while reporting on today's.
function assertBuildIsFresh(): void {
  const srcDir = fileURLToPath(new URL('../../../src/imaging/', import.meta.url));
  for (const file of readdirSync(srcDir).filter((name) => /\.c?ts$/.test(name))) {
    const built = fileURLToPath(new URL(`imaging/${file.replace(/\.ts$/, '.js').replace(/\.cts$/, '.cjs')}`, dist));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(`${srcDir}${file}`).mtimeMs) {
      throw new Error(`Expected an up-to-date build of src/imaging/${file} in dist/; run \`npm run build\` first`);
    }
  }
}

const open: PoolModule.ImagingPool[] = [];
function pool(options: Partial<PoolModule.ImagingPoolOptions> = {}): PoolModule.ImagingPool {
  const created = new ImagingPool({ threads: 2, maxQueue: 16, limits: images.defaultLimits(), ...options });
  open.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

describe('ImagingPool', () => {
  it('returns what the stages return when called directly', async () => {
    const input = await images.phoneJpeg(1600, 1200, 6);
    const viaPool = await pool().processUpload(input);
    const direct = (await processUpload(input, images.defaultLimits())).result;
    expect(viaPool).toEqual({ master: expect.any(Buffer), side: direct.side, format: direct.format, hasAlpha: direct.hasAlpha });
    expect(Buffer.isBuffer(viaPool.master)).toBe(true);
    expect(await images.meanDifference(viaPool.master, direct.master)).toBeLessThan(1);
  });

  it('renders renditions and placeholders as Buffers of the requested size', async () => {
    const p = pool();
    const { master } = await p.processUpload(await images.pngWithAlpha());
    const webp = await p.render(master, 300, 'webp');
    expect(Buffer.isBuffer(webp)).toBe(true);
    expect(await sharp(webp).metadata()).toMatchObject({ format: 'webp', width: 300, height: 300 });

    const identicon = await p.placeholder('identicon', 'arpit', 64, 'png');
    expect(await images.meanDifference(identicon, await renderPlaceholder('identicon', 'arpit', 64, 'png'))).toBe(0);
  });

  it.each([
    ['an SVG', images.svgDisguised, 415, 'unsupported_type'],
    ['a pixel bomb', images.pixelBomb, 422, 'too_many_pixels'],
    ['a truncated JPEG', images.truncatedJpeg, 422, 'truncated_image'],
    ['an 8x8 image', () => images.tinyImage(8), 422, 'too_small'],
  ])('turns the worker\'s refusal of %s into an AppError', async (_name, make, status, code) => {
    const error = await pool().processUpload(await make()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ status, code });
  });

  it('lets an unexpected failure through as a plain error (a 500 at the edge)', async () => {
    const error = await pool().render(Buffer.from('not a stored master'), 64, 'jpeg').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(AppError);
  });

  it('answers 503 busy with Retry-After once the queue is full, and serves the rest', async () => {
    const p = pool({ threads: 1, maxQueue: 2 });
    const { master } = await p.processUpload(await images.phoneJpeg(800, 600));
    const jobs = Array.from({ length: 12 }, () => p.render(master, 1024, 'avif'));
    const during = p.stats();
    const outcomes = await Promise.allSettled(jobs);

    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ status: 503, code: 'busy', headers: { 'Retry-After': '1' } });
    }
    expect(outcomes.some((o) => o.status === 'fulfilled')).toBe(true);
    expect(during.threads).toBe(1);
    expect(during.queued).toBeLessThanOrEqual(2);
    expect(during.running).toBeLessThanOrEqual(1);
    expect(p.stats()).toMatchObject({ queued: 0, running: 0, utilization: 0 });
  });

  it('keeps uploads apart from a storm of renders: their own lane, and the first free thread', async () => {
    const p = pool({ threads: 2, maxQueue: 4, maxRenderQueue: 2 });
    const { master } = await p.processUpload(await images.phoneJpeg(800, 600));
    const later = await images.phoneJpeg(400, 300);
    // Far more renders than the render lane holds: one running, two waiting, the rest refused.
    const renders = Array.from({ length: 10 }, (_, n) => p.render(master, 1024 + n, 'avif'));
    const upload = p.processUpload(later);
    const during = p.stats();
    const [uploaded, ...outcomes] = await Promise.allSettled([upload, ...renders]);
    expect(uploaded?.status, 'the upload, sent after the storm began').toBe('fulfilled');
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused.length).toBe(7);
    for (const o of refused) expect((o as PromiseRejectedResult).reason).toMatchObject({ status: 503, code: 'busy' });
    expect(during.running).toBe(2); // the render lane's one thread, and the upload's
    expect(during.queued).toBe(2);
  });

  it('takes jobs in the order they came, so none waits behind later ones under steady load', async () => {
    const p = pool({ threads: 1, maxQueue: 8 });
    const { master } = await p.processUpload(await images.phoneJpeg(400, 300));
    const finished: number[] = [];
    // Keep the queue full for a while: each finished job is replaced by a new one at once, the
    // way a closed-loop client keeps a server busy. Job 1 was queued at the start, so it must
    // finish among the first few, long before the last job.
    let next = 0;
    const loop = async (): Promise<void> => {
      while (next < 24) {
        const n = next++;
        await p.render(master, 200 + n, 'jpeg');
        finished.push(n);
      }
    };
    await Promise.all([loop(), loop(), loop(), loop()]);
    expect(finished).toHaveLength(24);
    for (const n of [0, 1, 2, 3]) expect(finished.indexOf(n), `job ${n} in ${finished.join(',')}`).toBeLessThan(4);
    expect(p.stats()).toMatchObject({ queued: 0, running: 0 });
  });

  it('reports each stage time measured in the worker', async () => {
    const seen: Array<[string, object]> = [];
    const p = pool({ onTimings: (job, timings) => seen.push([job, timings]) });
    await p.processUpload(await images.opaquePng());
    await p.placeholder('mp', 'x', 32, 'jpeg');
    expect(seen.map(([job]) => job)).toEqual(['upload', 'placeholder']);
    expect(Object.keys(seen[0]?.[1] ?? {}).sort()).toEqual(['probe', 'sniff', 'transcode']);
  });

  it('finishes queued and running jobs on close, then refuses new ones with 503', async () => {
    const p = pool({ threads: 1, maxQueue: 8 });
    const jobs = [1, 2, 3].map((n) => p.placeholder('initials', `user-${n}`, 512, 'avif'));
    await p.close();
    for (const bytes of await Promise.all(jobs)) expect((await sharp(bytes).metadata()).width).toBe(512);
    await expect(p.placeholder('mp', 'x', 32, 'png')).rejects.toMatchObject({ status: 503, code: 'shutting_down' });
  });
});
