import { defineConfig } from 'vitest/config';

/**
 * The integration run (`npm run test:integration`): the port contract suites against real
 * Cassandra and S3 (test/integration), and the whole end-to-end suite with every server it
 * starts backed by them (ONEPIC_E2E_BACKENDS=services, see test/support/backends.ts). The services
 * come from `npm run services:up`; without them these suites fail, they do not skip.
 */
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    // Every server these suites start runs dist/main.js: build it from src/ first.
    globalSetup: ['test/support/build-dist.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One file at a time: the files share one Cassandra and one MinIO on a 2-core machine.
    fileParallelism: false,
    env: { ONEPIC_E2E_BACKENDS: 'services' },
  },
});
