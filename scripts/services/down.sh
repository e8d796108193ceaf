#!/usr/bin/env bash
# npm run services:down [-- --wipe]: stop Cassandra and MinIO; --wipe also deletes their data.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

wipe=false
for arg in "$@"; do
  case $arg in
    --wipe) wipe=true ;;
    *) die "unknown argument $arg (usage: down.sh [--wipe])" ;;
  esac
done

# Both at once: each waits for its own process to exit.
"$SERVICES_DIR/cassandra.sh" stop & cassandra_stop=$!
"$SERVICES_DIR/minio.sh" stop & minio_stop=$!
wait "$cassandra_stop"; wait "$minio_stop"

if $wipe; then
  [[ -n $STATE && $STATE != / && $STATE != "$HOME" ]] || die "refusing to wipe '$STATE'"
  rm -rf "$STATE"
  log "wiped $STATE"
fi
