# Our own background processes, tracked by pid file: shared by scripts/services (Cassandra,
# MinIO) and scripts/cluster (OnePic nodes). Sourced, not run; the sourcing script defines log().

# The pid in a pid file if that process is alive and still the one we started (its command line
# names MARK, default $PROCESS_MARK), so a recycled pid is never signalled; nothing otherwise.
live_pid() {
  local file=$1 mark=${2:-${PROCESS_MARK:-}} pid
  [[ -f $file && -n $mark ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$mark" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_pid NAME FILE MARK SIGNAL SECONDS: sends SIGNAL, waits up to SECONDS for the process to
# go, then SIGKILLs it. Removes the pid file either way.
stop_pid() {
  local name=$1 file=$2 mark=$3 signal=$4 seconds=$5 pid i
  if ! pid=$(live_pid "$file" "$mark"); then
    rm -f "$file"; log "$name: not running"; return 0
  fi
  log "$name: stopping (pid $pid, SIG$signal)"
  kill "-$signal" "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$file"; log "$name: stopped"; return 0; }
    sleep 0.1
  done
  log "$name: still running ${seconds}s after SIG$signal, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$file"
}
