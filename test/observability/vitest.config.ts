import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:observability`: the dashboards and rules against a real Prometheus (Debian's
 * `prometheus` package, which brings `promtool`). Kept out of `npm test` (its files are
 * `*.obs.ts`, which the default config does not include) because it needs those binaries.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/observability/**/*.obs.ts'],
    // The server it scrapes runs dist/main.js: build it from src/ first.
    globalSetup: ['test/support/build-dist.ts'],
    testTimeout: 30_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
