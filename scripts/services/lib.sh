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

# The pid in a pid file, if that process is alive and still ours (its command line names
# $PROCESS_MARK, so a recycled pid is never signalled); nothing otherwise.
live_pid() {
  local file=$1 pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$PROCESS_MARK" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# SIGTERM, wait up to STOP_WAIT_SECONDS, then SIGKILL. Removes the pid file.
stop_pid_file() {
  local name=$1 file=$2 pid i
  if ! pid=$(live_pid "$file"); then
    rm -f "$file"; log "$name: not running"; return 0
  fi
  log "$name: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_WAIT_SECONDS * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$file"; log "$name: stopped"; return 0; }
    sleep 0.2
  done
  log "$name: still running after ${STOP_WAIT_SECONDS}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$file"
}

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
    stop) stop_pid_file "$name" "$PID_FILE" ;;
    status)
      if pid=$(live_pid "$PID_FILE"); then
        "$check" && { echo "$name: running (pid $pid), answering on $address"; exit 0; }
        echo "$name: running (pid $pid), not answering yet"; exit 1
      fi
      echo "$name: stopped"; exit 3 ;;
    *) echo "usage: $0 {start|stop|status|install|launch|wait}" >&2; exit 2 ;;
  esac
}
