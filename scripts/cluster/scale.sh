#!/usr/bin/env bash
# Adds or removes one node of a running local cluster:
#   scale.sh add [N]      start node N (default: the lowest number not in use), wait until it
#                         is ready, then add it to nginx's node list and reload
#   scale.sh remove [N]   take node N (default: the highest) out of nginx's node list, reload
#                         and wait until no nginx worker can send it a request, then SIGTERM it:
#                         it finishes the uploads and reads it has in flight, and exits
#   scale.sh list         the nodes in nginx's node list
# With consistent hashing only the users of the node that comes or goes change nodes (~1/N).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -f $STATE/cluster.env ]] || die "no cluster here ($STATE/cluster.env is missing): run 'npm run cluster:up' first"
cmd=${1:-}
n=${2:-}
[[ -z $n || $n =~ ^[1-9][0-9]?$ ]] || die "node numbers are 1 to 99, not '$n'"

case $cmd in
  add)
    if [[ -z $n ]]; then n=1; while grep -qx "$n" <(members); do n=$((n + 1)); done; fi
    grep -qx "$n" <(members) && die "node $n is already in the node list"
    "$CLUSTER_DIR/node.sh" start "$n"
    { members; echo "$n"; } | sort -n >"$MEMBERS.new" && mv "$MEMBERS.new" "$MEMBERS"
    render_servers
    nginx_reload
    log "node $n added: nodes $(members | tr '\n' ' ')"
    ;;
  remove)
    [[ -n $n ]] || n=$(members | tail -n 1)
    grep -qx "$n" <(members) || die "node $n is not in the node list"
    [[ $(members | wc -l) -gt 1 ]] || die "node $n is the last node; use 'npm run cluster:down'"
    members | grep -vx "$n" >"$MEMBERS.new" && mv "$MEMBERS.new" "$MEMBERS"
    render_servers
    nginx_reload
    "$CLUSTER_DIR/node.sh" stop "$n"
    log "node $n removed: nodes $(members | tr '\n' ' ')"
    ;;
  list) members ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
