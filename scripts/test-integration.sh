#!/usr/bin/env bash
# Runs the integration suites against the local services started by `npm run services:up`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f .services/env ]]; then
  echo "test:integration needs the local services: run 'npm run services:up' first (.services/env is missing)." >&2
  exit 2
fi
# shellcheck disable=SC1091
source .services/env
# vitest.integration.config.ts builds dist/ (test/support/build-dist.ts) before the servers start.
exec npx vitest run --config vitest.integration.config.ts "$@"
