import { defineConfig } from 'vitest/config';

/**
 * The cluster run (`npm run test:cluster`): three OnePic nodes behind a real nginx, on the
 * Cassandra and MinIO of `npm run services:up`, started with the cluster scripts
 * (scripts/cluster, deploy/local) and broken on purpose (SIGKILL, scale down and up). Without
 * the services or nginx the suite fails; it never skips. Its files are `*.cluster.ts`, which the
 * default config (`npm test`) does not include.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.cluster.ts'],
    // The nodes run dist/main.js: build it from src/ first.
    globalSetup: ['test/support/build-dist.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // The cases of a file share one cluster and run in order; files run one at a time.
    fileParallelism: false,
  },
});
