#!/usr/bin/env bash
# Renders nginx.conf.template for N OnePic nodes into a prefix directory of its own:
#
#   render-nginx.sh PREFIX LISTEN NODE...        e.g. render-nginx.sh .cluster/nginx 127.0.0.1:8100 127.0.0.1:8101 127.0.0.1:8102
#   render-nginx.sh --servers PREFIX NODE...     rewrite only the node list (then: nginx -s reload)
#
# Writes PREFIX/nginx.conf, PREFIX/upstream-servers.conf, PREFIX/username-map.conf and the
# temp directories. Start nginx with `nginx -p PREFIX -c PREFIX/nginx.conf -e PREFIX/error.log`.
# Settings: ONEPIC_NGINX_WORKERS (1), ONEPIC_NGINX_MAX_FAILS (3), ONEPIC_NGINX_FAIL_TIMEOUT (2s).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAX_FAILS="${ONEPIC_NGINX_MAX_FAILS:-3}"
FAIL_TIMEOUT="${ONEPIC_NGINX_FAIL_TIMEOUT:-2s}"

usage() { sed -n '2,9p' "$0" >&2; exit 2; }

# The node list, written whole and then renamed, so a reload never reads half a file.
write_servers() {
  local prefix=$1 node; shift
  [[ $# -gt 0 ]] || { echo "render-nginx: at least one node is needed" >&2; exit 2; }
  {
    echo "# Written by render-nginx.sh: the OnePic nodes. Rewrite, then nginx -s reload."
    for node in "$@"; do
      [[ $node =~ ^[A-Za-z0-9.:_-]+:[0-9]+$ ]] || { echo "render-nginx: not host:port: $node" >&2; exit 2; }
      echo "server $node max_fails=$MAX_FAILS fail_timeout=$FAIL_TIMEOUT;"
    done
  } >"$prefix/upstream-servers.conf.new"
  mv "$prefix/upstream-servers.conf.new" "$prefix/upstream-servers.conf"
}

if [[ ${1:-} == --servers ]]; then
  [[ $# -ge 3 ]] || usage
  write_servers "$2" "${@:3}"
  exit 0
fi
[[ $# -ge 3 ]] || usage
prefix=$(mkdir -p "$1" && cd "$1" && pwd)
listen=$2
shift 2

mkdir -p "$prefix"/tmp/{client_body,proxy,fastcgi,uwsgi,scgi}
# As root, the master would hand the workers to `nobody`, who cannot write under this prefix.
user_line="# not root: the workers run as $(id -un)"
if [[ $(id -u) -eq 0 ]]; then user_line="user $(id -un) $(id -gn);"; fi
sed -e "s|@@USER@@|$user_line|" -e "s|@@WORKERS@@|${ONEPIC_NGINX_WORKERS:-1}|" \
  -e "s|@@PREFIX@@|$prefix|g" -e "s|@@LISTEN@@|$listen|" "$HERE/nginx.conf.template" >"$prefix/nginx.conf"
# The hash-key maps, shared with deploy/compose and the Kubernetes example.
cp "$HERE/../compose/username-map.conf" "$prefix/username-map.conf"
write_servers "$prefix" "$@"
