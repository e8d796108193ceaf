import { defineConfig } from 'vitest/config';

/**
 * The hostile-load run (`npm run test:hostile`): each file reproduces one attack on a real built
 * server over loopback, in bounded time, and asserts the bound the design states. One file at a
 * time, so that no attack's load is another file's noise.
 */
export default defineConfig({
  test: {
    include: ['test/hostile/**/*.test.ts'],
    globalSetup: ['test/support/build-dist.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
