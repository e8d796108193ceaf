# syntax=docker/dockerfile:1
#
# OnePic server image. Build from the repository root:
#
#   docker build -t onepic:local .
#   docker run --rm -p 8080:8080 -v onepic-data:/data onepic:local    # embedded stores under /data
#
# Production runs the same image against Cassandra and S3 (see deploy/k8s/ and deploy/compose/).
# test/unit/deploy-manifests.test.ts checks this file against the source (runtime files, port,
# user); it cannot run a build, so a change here still wants one `docker build` by hand.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, then drop the dev dependencies --------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# better-sqlite3 compiles from source when no prebuilt binary matches the platform; these are
# what node-gyp needs for that. They stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

# package.json's `allowScripts` (which dependencies may run install scripts) is an npm 11
# feature; the npm bundled with Node 20 ignores it and would run every install script.
ARG NPM_VERSION=11.19.1
RUN npm install -g "npm@${NPM_VERSION}"

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies, compiled code, and the files it reads ------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    ONEPIC_DATA_DIR=/data

# glibc's malloc fragments under libvips' many threads, and the resident set of a node doing
# large renders keeps climbing; jemalloc returns the memory (bench/results/memory-latest.md,
# docs/OPERATIONS.md "Memory per node"). The link gives it one path on every architecture.
# MALLOC_ARENA_MAX=2, as `npm start` sets it, is glibc's fallback should LD_PRELOAD be dropped.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libjemalloc2 \
 && ln -s "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/local/lib/libjemalloc.so.2 \
 && rm -rf /var/lib/apt/lists/*
ENV LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    MALLOC_ARENA_MAX=2
WORKDIR /app

# The node_modules of the build stage, pruned to production dependencies: the native modules
# (sharp's libvips, better-sqlite3, uWebSockets.js) were fetched or built there for this platform.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# "type": "module" in package.json is what makes Node load dist/*.js as ES modules.
COPY package.json ./
# Served at /api/v1/openapi.yaml; src/server.ts reads it from ../docs/ relative to dist/.
COPY docs/openapi.yaml ./docs/openapi.yaml

# Only used by the embedded stores (ONEPIC_METADATA=embedded, ONEPIC_BLOBS=fs).
RUN mkdir -p /data && chown 1000:1000 /data
VOLUME ["/data"]

# The image's `node` user, by number, so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000

EXPOSE 8080
# SIGTERM makes OnePic stop accepting, finish requests in flight (ONEPIC_SHUTDOWN_TIMEOUT_SECONDS)
# and exit 0. Node runs as PID 1 and installs its own SIGTERM handler, so no init is needed.
STOPSIGNAL SIGTERM
# Liveness only (the process answers HTTP). Readiness (/readyz: stores answer) is for the load
# balancer; deploy/compose uses it for depends_on. Node itself does the request: the slim image
# has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The same node flags as `npm start` (package.json): a 32 MB young generation, so fewer
# short-lived request objects are promoted and old-generation collections (and their pauses)
# come less often.
CMD ["node", "--max-semi-space-size=32", "dist/main.js"]
