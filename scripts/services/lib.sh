# Shared settings and helpers for the local services scripts. Sourced, not run.
# Everything here can be overridden from the environment.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SERVICES_DIR="$REPO/scripts/services"
STATE="${ONEPIC_SERVICES_STATE:-$REPO/.services}"          # data, logs, pid files (git-ignored)
CACHE="${ONEPIC_SERVICES_CACHE:-$HOME/.cache/onepic-services}"  # installed software, shared by clones

# Pinned versions. Cassandra: newest 5.0.x on Maven Central. MinIO: its module has no semver
# tags (releases are RELEASE.* tags), so `go list -m github.com/minio/minio@latest` gives this
# pseudo-version (master, 2026-02-12).
CASSANDRA_VERSION=5.0.9
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

CASSANDRA_PORT="${ONEPIC_CASSANDRA_PORT:-9042}"
CASSANDRA_STORAGE_PORT="${ONEPIC_CASSANDRA_STORAGE_PORT:-7000}"
CASSANDRA_HEAP_MIN="${ONEPIC_CASSANDRA_HEAP_MIN:-512m}"
CASSANDRA_HEAP_MAX="${ONEPIC_CASSANDRA_HEAP_MAX:-1g}"
CASSANDRA_WAIT_SECONDS="${ONEPIC_CASSANDRA_WAIT_SECONDS:-180}"

MINIO_PORT="${ONEPIC_MINIO_PORT:-9000}"
MINIO_CONSOLE_PORT="${ONEPIC_MINIO_CONSOLE_PORT:-9001}"
MINIO_USER="${ONEPIC_MINIO_ROOT_USER:-onepic-local}"
MINIO_PASSWORD="${ONEPIC_MINIO_ROOT_PASSWORD:-onepic-local-secret}"   # loopback only
MINIO_WAIT_SECONDS="${ONEPIC_MINIO_WAIT_SECONDS:-60}"
S3_BUCKET="${ONEPIC_S3_BUCKET:-onepic}"

STOP_WAIT_SECONDS="${ONEPIC_SERVICES_STOP_WAIT_SECONDS:-30}"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

# live_pid, port_open and stop_pid; live_pid's mark defaults to the service's $PROCESS_MARK.
# shellcheck source=../lib/processes.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/processes.sh"

# The command line of a service script. The script defines install, launch and wait_ready, and
# a readiness check named by $3; PID_FILE names its pid file. Usage: service_main NAME ADDRESS CHECK "$@"
service_main() {
  local name=$1 address=$2 check=$3 pid
  shift 3
  case "${1:-}" in
    install) install ;;
    launch) launch ;;
    wait) wait_ready ;;
    start) launch; wait_ready ;;
    stop) stop_pid "$name" "$PID_FILE" "$PROCESS_MARK" TERM "$STOP_WAIT_SECONDS" ;;
    status)
      if pid=$(live_pid "$PID_FILE"); then
        "$check" && { echo "$name: running (pid $pid), answering on $address"; exit 0; }
        echo "$name: running (pid $pid), not answering yet"; exit 1
      fi
      echo "$name: stopped"; exit 3 ;;
    *) echo "usage: $0 {start|stop|status|install|launch|wait}" >&2; exit 2 ;;
  esac
}
