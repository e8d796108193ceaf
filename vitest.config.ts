import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // The end-to-end tests start dist/main.js: build it from src/ first, and before each rerun.
    globalSetup: ['test/support/build-dist.ts'],
    // The integration suites (real Cassandra and S3) run from `npm run test:integration`, the
    // hostile-load suites (one at a time) from `npm run test:hostile`.
    exclude: ['test/integration/**', 'test/hostile/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
