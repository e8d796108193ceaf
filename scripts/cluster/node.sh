#!/usr/bin/env bash
# One OnePic node of the local cluster, without touching nginx's node list:
#   node.sh start N    start node N on port ONEPIC_CLUSTER_PORT + N, wait until /readyz is 200
#   node.sh stop N     SIGTERM: it stops accepting, finishes requests in flight, exits
#   node.sh kill N     SIGKILL (fault tests)
#   node.sh status N
# To take a node out of (or put it into) service, use scale.sh: it changes nginx first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cmd=${1:-}
n=${2:-}
[[ $n =~ ^[1-9][0-9]?$ ]] || { sed -n '2,7p' "$0" >&2; exit 2; }
dir=$(node_dir "$n")
port=$(node_port "$n")
mark="--onepic-cluster-node=$dir"   # names the process, so a recycled pid is never signalled

start_node() {
  local pid
  [[ -f $STATE/cluster.env ]] || die "no cluster here ($STATE/cluster.env is missing): run 'npm run cluster:up' first"
  if pid=$(live_pid "$dir/pid" "$mark"); then log "node $n: already running (pid $pid)"; return 0; fi
  port_open "$port" && die "node $n: port $port is taken by another process"
  mkdir -p "$dir/data"
  # setsid: the node outlives this script and ignores the terminal's Ctrl-C.
  # The nodes share one host, so /metrics stays on each node's own port (the tests scrape it there).
  PORT=$port ONEPIC_METRICS_PORT=0 ONEPIC_DATA_DIR="$dir/data" setsid node --max-semi-space-size=32 "$REPO/dist/main.js" "$mark" >>"$dir/node.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  wait_ready "$port" /readyz "node $n" "$!"
  log "node $n: ready on http://127.0.0.1:$port (pid $(<"$dir/pid")), log $dir/node.log"
}

stop_node() { stop_pid "node $n" "$dir/pid" "$mark" "$1" "$STOP_WAIT_SECONDS"; }

case $cmd in
  start) start_node ;;
  stop) stop_node TERM ;;
  kill) stop_node KILL ;;
  status)
    if pid=$(live_pid "$dir/pid" "$mark"); then
      echo "node $n: running (pid $pid) on port $port, /readyz $(http_status "$port" /readyz)"
    else
      echo "node $n: stopped"; exit 3
    fi ;;
  *) sed -n '2,7p' "$0" >&2; exit 2 ;;
esac
