#!/usr/bin/env bash
# npm run cluster:up [-- N]: N OnePic nodes (default 3) behind nginx, on the Cassandra and MinIO
# of `npm run services:up`. nginx on 127.0.0.1:ONEPIC_CLUSTER_PORT (8100), node i on 8100 + i.
# Needs `npm run build` (npm run cluster:up builds first). State, logs and pids under .cluster/.
#
# Settings (environment): ONEPIC_CLUSTER_NODES, ONEPIC_CLUSTER_PORT, ONEPIC_CLUSTER_STATE,
# ONEPIC_CLUSTER_KEYSPACE (onepic_cluster), ONEPIC_CLUSTER_S3_PREFIX (cluster/); any other
# ONEPIC_* variable (e.g. ONEPIC_ACTIVE_CACHE_TTL_MS) is passed to every node.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -n ${1:-} ]] && NODES=$1
[[ $NODES =~ ^[1-9]$ ]] || die "the number of nodes must be 1 to 9, not '$NODES'"
[[ -f $STATE/cluster.env ]] && die "a cluster is already set up in $STATE: 'npm run cluster:down' first"
[[ -f $REPO/.services/env ]] || die "the cluster runs on the local services: run 'npm run services:up' first (.services/env is missing)"
[[ -f $REPO/dist/main.js ]] || die "dist/main.js is missing: run 'npm run build' first"
command -v "$NGINX" >/dev/null || die "nginx is not installed: apt-get install nginx (Debian's package; it runs here as $(id -un), under $STATE)"

# shellcheck disable=SC1091
source "$REPO/.services/env"
cassandra_port=${ONEPIC_CASSANDRA_CONTACT_POINTS##*:}
minio_port=${ONEPIC_S3_ENDPOINT##*:}
port_open "$cassandra_port" || die "Cassandra is not answering on port $cassandra_port: run 'npm run services:up'"
port_open "$minio_port" || die "MinIO is not answering on port $minio_port: run 'npm run services:up'"
for ((p = PROXY_PORT; p <= PROXY_PORT + NODES; p++)); do
  port_open "$p" && die "port $p is taken; choose another base with ONEPIC_CLUSTER_PORT"
done

# The nodes' settings. A keyspace and key prefix of the cluster's own: the orphan sweeper
# removes what no picture of its keyspace names under its prefix, so they go together.
export HOST=127.0.0.1
export ONEPIC_CASSANDRA_KEYSPACE="${ONEPIC_CLUSTER_KEYSPACE:-onepic_cluster}"
export ONEPIC_S3_PREFIX="${ONEPIC_CLUSTER_S3_PREFIX:-cluster/}"
export ONEPIC_TRUST_PROXY=true   # nodes listen on loopback: only nginx reaches them
export ONEPIC_WORKERS="${ONEPIC_WORKERS:-1}"   # N nodes share this machine's cores
export ONEPIC_CLUSTER_PORT=$PROXY_PORT
mkdir -p "$STATE"
{
  echo "# Written by scripts/cluster/up.sh: this cluster's settings, read by every cluster script."
  for var in $(compgen -e | grep -E '^(ONEPIC_|AWS_|HOST$)' | sort); do
    case $var in ONEPIC_CLUSTER_STATE | ONEPIC_CLUSTER_NODES | ONEPIC_SERVICES_*) continue ;; esac
    printf 'export %s=%q\n' "$var" "${!var}"
  done
} >"$STATE/cluster.env"

start=$SECONDS
# Node 1 alone first: it creates the keyspace and tables, so the others find them in place.
"$CLUSTER_DIR/node.sh" start 1
pids=()
for ((n = 2; n <= NODES; n++)); do "$CLUSTER_DIR/node.sh" start "$n" & pids+=($!); done
for pid in "${pids[@]}"; do wait "$pid" || die "a node did not start (see above)"; done
seq 1 "$NODES" >"$MEMBERS"

addrs=()
for n in $(members); do addrs+=("127.0.0.1:$(node_port "$n")"); done
"$DEPLOY_DIR/render-nginx.sh" "$NGINX_DIR" "127.0.0.1:$PROXY_PORT" "${addrs[@]}"
nginx_cmd -t -q || die "the rendered nginx configuration is invalid (see above)"
nginx_cmd
wait_ready "$PROXY_PORT" /readyz nginx
log "up in $((SECONDS - start))s: http://127.0.0.1:$PROXY_PORT -> nodes on ports $(for n in $(members); do printf '%s ' "$(node_port "$n")"; done)"
log "keyspace $ONEPIC_CASSANDRA_KEYSPACE, S3 prefix $ONEPIC_S3_PREFIX; logs under $STATE"
