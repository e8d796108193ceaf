/**
 * The built server modules the in-process benchmarks (imaging, master quality) call, loaded
 * from dist/ so they measure exactly what the server runs. Each path is typed by its source
 * file, so moving or changing one in src/ fails `npm run typecheck` instead of a later bench run.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './root.js';

interface Built {
  'config/index.js': typeof import('../../src/config/index.js');
  'imaging/pool.js': typeof import('../../src/imaging/pool.js');
  'imaging/process-upload.js': typeof import('../../src/imaging/process-upload.js');
  'imaging/render.js': typeof import('../../src/imaging/render.js');
}

export async function importBuilt<P extends keyof Built>(path: P): Promise<Built[P]> {
  return (await import(pathToFileURL(join(ROOT, 'dist', path)).href)) as Built[P];
}
