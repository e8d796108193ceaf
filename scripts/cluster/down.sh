#!/usr/bin/env bash
# npm run cluster:down: stops nginx (letting it answer what it has in flight), then SIGTERMs
# every node and waits while each finishes its requests in flight. The data stays in the
# cluster's keyspace and S3 prefix.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if pid=$(nginx_pid); then
  nginx_cmd -s quit
  for ((i = 0; i < 400; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { log "nginx: still running after 40 s, sending SIGKILL"; kill -KILL "$pid"; }
  log "nginx: stopped"
fi
pids=()
for dir in "$STATE"/node-*; do
  [[ -d $dir ]] || continue
  "$CLUSTER_DIR/node.sh" stop "${dir##*/node-}" & pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
rm -f "$STATE/cluster.env" "$MEMBERS" "$NGINX_DIR/nginx.pid"
log "down"
exit "$status"
