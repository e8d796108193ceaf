#!/usr/bin/env bash
# A MinIO server on loopback, for development and tests.
#   minio.sh install   build MinIO from its Go module through the Go module proxy (once)
#   minio.sh start     install if needed, start (reusing existing data), wait, create the bucket
#   minio.sh launch    start without waiting;  minio.sh wait   wait and create the bucket
#   minio.sh stop      SIGTERM, then SIGKILL after a bound
#   minio.sh status    exit 0 when running and ready
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN="$CACHE/bin/minio-$MINIO_VERSION"
DIR="$STATE/minio"
PID_FILE="$DIR/minio.pid"
LOG_FILE="$DIR/minio.log"
PROCESS_MARK="$DIR/data"   # in the command line of our process
URL="http://127.0.0.1:$MINIO_PORT"

install() {
  [[ -x $BIN ]] && return 0
  command -v go >/dev/null || die "go not found (needed once, to build MinIO)"
  log "minio: building $MINIO_VERSION into $BIN (several minutes the first time)"
  local src
  # Not `go install module@version`: it refuses modules whose go.mod has replace directives
  # (some MinIO versions have them). Build from a writable copy of the downloaded module instead.
  mkdir -p "$CACHE/src" "$CACHE/bin"
  src=$(cd "$CACHE" && go mod download -json "github.com/minio/minio@$MINIO_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  [[ -n $src && -d $src ]] || die "minio: go mod download github.com/minio/minio@$MINIO_VERSION failed"
  rm -rf "$CACHE/src/minio-$MINIO_VERSION"
  cp -r "$src" "$CACHE/src/minio-$MINIO_VERSION"
  chmod -R u+w "$CACHE/src/minio-$MINIO_VERSION"
  (cd "$CACHE/src/minio-$MINIO_VERSION" && CGO_ENABLED=0 go build -trimpath -o "$BIN.tmp" .) \
    || die "minio: go build failed"
  mv "$BIN.tmp" "$BIN"
  ln -sfn "minio-$MINIO_VERSION" "$CACHE/bin/minio"
  rm -rf "$CACHE/src/minio-$MINIO_VERSION"
}

launch() {
  local pid
  if pid=$(live_pid "$PID_FILE"); then log "minio: already running (pid $pid)"; return 0; fi
  port_open "$MINIO_PORT" && die "minio: port $MINIO_PORT is taken by another process"
  port_open "$MINIO_CONSOLE_PORT" && die "minio: console port $MINIO_CONSOLE_PORT is taken by another process"
  install
  mkdir -p "$DIR/data"
  echo "==== $(date -Is) starting MinIO $MINIO_VERSION" >>"$LOG_FILE"
  MINIO_ROOT_USER="$MINIO_USER" MINIO_ROOT_PASSWORD="$MINIO_PASSWORD" \
    MINIO_BROWSER=on MINIO_UPDATE=off MINIO_CI_CD=1 \
    setsid nohup "$BIN" server "$DIR/data" --quiet \
    --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" \
    >>"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"   # setsid: its own session, so a Ctrl-C or a test runner's group kill spares it
  log "minio: started (pid $!), S3 on $URL, console http://127.0.0.1:$MINIO_CONSOLE_PORT, log $LOG_FILE"
}

ready() { curl -sf -o /dev/null --max-time 2 "$URL/minio/health/ready"; }

s3() {  # s3 METHOD PATH [curl args...]: a SigV4-signed request; prints the HTTP status
  local method=$1 path=$2; shift 2
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X "$method" \
    --user "$MINIO_USER:$MINIO_PASSWORD" --aws-sigv4 "aws:amz:us-east-1:s3" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@" "$URL$path"
}

create_bucket() {
  local code
  code=$(s3 HEAD "/$S3_BUCKET" -I)
  [[ $code == 200 ]] && return 0
  code=$(s3 PUT "/$S3_BUCKET")
  # 409 BucketAlreadyOwnedByYou: someone else created it in between, which is just as good.
  [[ $code == 200 || $code == 409 ]] || die "minio: creating bucket $S3_BUCKET answered HTTP $code"
  log "minio: created bucket $S3_BUCKET"
}

wait_ready() {
  local deadline=$((SECONDS + MINIO_WAIT_SECONDS))
  until ready; do
    if ! live_pid "$PID_FILE" >/dev/null; then
      tail -n 30 "$LOG_FILE" >&2 || true
      die "minio: the process exited during start-up (log above, full log $LOG_FILE)"
    fi
    ((SECONDS < deadline)) || die "minio: not ready on $URL after ${MINIO_WAIT_SECONDS}s (log $LOG_FILE)"
    sleep 0.5
  done
  create_bucket
  log "minio: ready on $URL, bucket $S3_BUCKET"
}

service_main minio "$URL" ready "$@"
