# Shared settings and helpers of the local cluster scripts (N OnePic nodes behind nginx, on the
# Cassandra and MinIO of `npm run services:up`). Sourced, not run. Every setting can be
# overridden from the environment; `up.sh` records the effective ones in $STATE/cluster.env, so
# that later commands (node.sh, scale.sh, down.sh) act on the cluster that is running.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER_DIR="$REPO/scripts/cluster"
DEPLOY_DIR="$REPO/deploy/local"
STATE="${ONEPIC_CLUSTER_STATE:-$REPO/.cluster}"   # pids, logs, nginx prefix (git-ignored)

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] error: %s\n' "$*" >&2; exit 1; }

# The settings of a running cluster win over the defaults below.
if [[ -f $STATE/cluster.env ]]; then
  # shellcheck disable=SC1091
  source "$STATE/cluster.env"
fi

NODES="${ONEPIC_CLUSTER_NODES:-3}"                        # nodes started by up.sh
PROXY_PORT="${ONEPIC_CLUSTER_PORT:-8100}"                 # nginx; node i listens on PROXY_PORT + i
STOP_WAIT_SECONDS="${ONEPIC_CLUSTER_STOP_WAIT_SECONDS:-40}"  # > the nodes' 30 s drain timeout
READY_WAIT_SECONDS="${ONEPIC_CLUSTER_READY_WAIT_SECONDS:-60}"
NGINX="${ONEPIC_CLUSTER_NGINX:-nginx}"

node_port() { echo $((PROXY_PORT + $1)); }
node_dir() { echo "$STATE/node-$1"; }
NGINX_DIR="$STATE/nginx"
MEMBERS="$STATE/members"   # the node numbers in nginx's upstream, one a line

# live_pid FILE MARK, port_open and stop_pid, shared with scripts/services.
# shellcheck source=../lib/processes.sh
source "$REPO/scripts/lib/processes.sh"

# HTTP status of a GET on loopback (000 when nothing answers).
http_status() {
  curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null || true
}

# Waits until GET $2 on port $1 answers 200, or dies after READY_WAIT_SECONDS. $3 names it, and
# $4 (optional) is a pid that must stay alive meanwhile.
wait_ready() {
  local port=$1 path=$2 name=$3 pid=${4:-} i
  for ((i = 0; i < READY_WAIT_SECONDS * 10; i++)); do
    [[ $(http_status "$port" "$path") == 200 ]] && return 0
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      die "$name exited during start-up; last lines of its log:
$(tail -n 20 "$(node_dir "${name#node }")/node.log" 2>/dev/null)"
    fi
    sleep 0.1
  done
  die "$name: GET $path on port $port did not answer 200 within ${READY_WAIT_SECONDS}s"
}

members() { [[ -f $MEMBERS ]] && grep -E '^[0-9]+$' "$MEMBERS" || true; }

# ---- nginx, under its own prefix $NGINX_DIR, as the current user ---------------------------

nginx_cmd() { "$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" "$@"; }
nginx_pid() { live_pid "$NGINX_DIR/nginx.pid" "$NGINX_DIR"; }
nginx_workers() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' | sort; }

# The upstream's node list from $MEMBERS.
render_servers() {
  local n addrs=()
  for n in $(members); do addrs+=("127.0.0.1:$(node_port "$n")"); done
  [[ ${#addrs[@]} -gt 0 ]] || die "nginx needs at least one node in $MEMBERS"
  "$DEPLOY_DIR/render-nginx.sh" --servers "$NGINX_DIR" "${addrs[@]}"
}

# Re-reads the node list and returns once every worker that knew the old list has exited, that
# is, once the requests they had in flight are answered: from then on no request reaches a node
# that was removed.
nginx_reload() {
  local master old new w i
  master=$(nginx_pid) || die "nginx is not running"
  nginx_cmd -t -q || die "the rendered nginx configuration is invalid (see above)"
  old=$(nginx_workers "$master")
  nginx_cmd -s reload
  for ((i = 0; i < 400; i++)); do   # worker_shutdown_timeout is 35 s
    new=$(nginx_workers "$master")
    local stale=0 fresh=0
    for w in $new; do
      if grep -qx "$w" <<<"$old"; then stale=1; else fresh=1; fi
    done
    ((fresh == 1 && stale == 0)) && { log "nginx: reloaded"; return 0; }
    sleep 0.1
  done
  die "nginx: old workers still running 40 s after reload"
}
