#!/usr/bin/env bash
# Renders nginx.conf.template for N OnePic nodes into a prefix directory of its own:
#
#   render-nginx.sh PREFIX LISTEN NODE...        e.g. render-nginx.sh .cluster/nginx 127.0.0.1:8100 127.0.0.1:8101 127.0.0.1:8102
#   render-nginx.sh --servers PREFIX NODE...     rewrite only the node list (then: nginx -s reload)
#
# Writes PREFIX/nginx.conf, PREFIX/upstream-servers.conf, PREFIX/username-lowercase.conf and the
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

# $onepic_user: $onepic_user_raw folded to lower case. Usernames are at most 39 characters, so 39
# stages, each lowering the first upper-case letter left, fold any of them; the chain is only
# evaluated when the name has an upper-case letter (map values are computed lazily).
write_lowercase() {
  local out=$1 stage letter lower
  {
    echo "# Written by render-nginx.sh: \$onepic_user is \$onepic_user_raw in lower case."
    echo 'map $onepic_user_raw $onepic_user {'
    echo '    "~[A-Z]"  $onepic_lc39;'
    echo '    default   $onepic_user_raw;'
    echo '}'
    for ((stage = 1; stage <= 39; stage++)); do
      if ((stage == 1)); then prev='$onepic_user_raw'; else prev="\$onepic_lc$((stage - 1))"; fi
      echo "map $prev \$onepic_lc$stage {"
      echo "    \"~^[^A-Z]*\$\"  $prev;"
      for letter in {A..Z}; do
        lower=$(tr 'A-Z' 'a-z' <<<"$letter")
        echo "    \"~^(?<onepic_lc_head>[^A-Z]*)$letter(?<onepic_lc_tail>.*)\$\"  \"\${onepic_lc_head}$lower\${onepic_lc_tail}\";"
      done
      echo '}'
    done
  } >"$out"
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
write_lowercase "$prefix/username-lowercase.conf"
write_servers "$prefix" "$@"
