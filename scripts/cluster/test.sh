#!/usr/bin/env bash
# npm run test:cluster: the cluster suite (test/cluster) against the local services started by
# `npm run services:up`, with nginx from Debian's package.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ ! -f .services/env ]]; then
  echo "test:cluster needs the local services: run 'npm run services:up' first (.services/env is missing)." >&2
  exit 2
fi
if ! command -v nginx >/dev/null; then
  echo "test:cluster needs nginx: apt-get install nginx (it runs as $(id -un), under .cluster/)." >&2
  exit 2
fi
# shellcheck disable=SC1091
source .services/env
# vitest.cluster.config.ts builds dist/ (test/support/build-dist.ts) before the nodes start.
exec npx vitest run --config vitest.cluster.config.ts "$@"
