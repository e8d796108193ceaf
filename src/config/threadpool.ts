import { availableParallelism } from 'node:os';

/**
 * sharp's work runs on libuv's thread pool, one per process, shared by every imaging worker
 * thread and by fs and crypto (scrypt) in the main thread. Its default of 4 would starve a
 * larger imaging pool, so unless the operator set it, size it before anything first uses it.
 * This runs before the rest of the program is even imported (see main.ts).
 */
export function sizeLibuvThreadPool(env: NodeJS.ProcessEnv = process.env): void {
  if (env.UV_THREADPOOL_SIZE) return;
  const workers = Number(env.ONEPIC_WORKERS) || availableParallelism();
  env.UV_THREADPOOL_SIZE = String(Math.min(1024, Math.max(4, workers + 4)));
}
