# Shared helpers for runtime/ scripts (sourced, not executed).
# shellcheck shell=bash
runtime_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(cd "$runtime_dir/.." && pwd)"
# shellcheck source=versions.env
source "$runtime_dir/versions.env"

# Built binaries and downloaded jars live outside the repo, keyed by version.
PROGRESS_CACHE="${PROGRESS_CACHE:-$HOME/.cache/progress-service}"
# Data and logs of a running local stack (git-ignored).
STACK_DIR="${STACK_DIR:-$repo_dir/.stack}"

# Ports (override through the environment).
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
PG_PORT="${PG_PORT:-15432}"
PLACEMENT_PORT="${PLACEMENT_PORT:-50005}"
PLACEMENT_HEALTH_PORT="${PLACEMENT_HEALTH_PORT:-58080}"
PLACEMENT_METRICS_PORT="${PLACEMENT_METRICS_PORT:-59090}"
SCHEDULER_PORT="${SCHEDULER_PORT:-50006}"
SCHEDULER_HEALTH_PORT="${SCHEDULER_HEALTH_PORT:-58081}"
SCHEDULER_METRICS_PORT="${SCHEDULER_METRICS_PORT:-59091}"
SCHEDULER_ETCD_CLIENT_PORT="${SCHEDULER_ETCD_CLIENT_PORT:-52379}"
SCHEDULER_ETCD_PEER_PORT="${SCHEDULER_ETCD_PEER_PORT:-52380}"
DAPR_HTTP_PORT="${DAPR_HTTP_PORT:-3500}"
DAPR_GRPC_PORT="${DAPR_GRPC_PORT:-50001}"
DAPR_METRICS_PORT="${DAPR_METRICS_PORT:-9091}"
DAPR_INTERNAL_GRPC_PORT="${DAPR_INTERNAL_GRPC_PORT:-50011}"
APP_PORT="${APP_PORT:-8000}"
export KAFKA_PORT PG_PORT PLACEMENT_PORT SCHEDULER_PORT DAPR_HTTP_PORT DAPR_GRPC_PORT APP_PORT

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

dapr_bin_dir() { echo "$PROGRESS_CACHE/dapr/$DAPR_VERSION"; }
dapr_binaries_cached() {
  local d
  d="$(dapr_bin_dir)"
  [[ -x "$d/daprd" && -x "$d/placement" && -x "$d/scheduler" ]]
}

# require_go [MIN]: die, saying what to do, unless `go` is on PATH and its version is at
# least MIN (default GO_MIN_VERSION: what the Dapr build needs). GOTOOLCHAIN=local: the
# toolchain installed here, never one `go` would fetch. A pre-release (go1.27rc1) is
# older than its release.
require_go() {
  local min="${1:-$GO_MIN_VERSION}" out have want
  local advice="install Go $min or newer (https://go.dev/doc/install) and put its bin directory on PATH"
  command -v go >/dev/null || die "Go is not on PATH; building Dapr $DAPR_VERSION needs Go $min or newer: $advice"
  out="$(GOTOOLCHAIN=local go version 2>&1)" || die "\`go version\` failed ($out): $advice"
  if [[ ! "$out" =~ go([0-9]+)\.([0-9]+)(\.([0-9]+))?([a-z]+[0-9]*)? ]]; then
    die "cannot read the Go version from \`go version\` ($out): $advice"
  fi
  local patch="${BASH_REMATCH[4]:-0}"
  if [[ -n "${BASH_REMATCH[5]}" ]]; then patch=-1; fi
  have=$(( BASH_REMATCH[1] * 1000000 + BASH_REMATCH[2] * 1000 + patch ))
  [[ "$min" =~ ^([0-9]+)\.([0-9]+)(\.([0-9]+))?$ ]] || die "require_go: bad minimum version '$min'"
  want=$(( BASH_REMATCH[1] * 1000000 + BASH_REMATCH[2] * 1000 + ${BASH_REMATCH[4]:-0} ))
  (( have >= want )) || die "Go $min or newer is needed to build Dapr $DAPR_VERSION (the go directive of its go.mod); found: $out. $advice"
}
kafka_lib_dir() { echo "$PROGRESS_CACHE/kafka/$KAFKA_VERSION/libs"; }

PLACEMENT_RAFT_PORT="${PLACEMENT_RAFT_PORT:-58201}"
PG_USER="${PG_USER:-progress}"
PG_PASSWORD="${PG_PASSWORD:-progress-dev}"
PG_DATABASE="${PG_DATABASE:-progress}"
export PG_USER PG_PASSWORD PG_DATABASE
run_dir="$STACK_DIR/run"
log_dir="$STACK_DIR/logs"
mkdir -p "$run_dir" "$log_dir"

pid_file() { echo "$run_dir/$1.pid"; }

# Is the service recorded under NAME running? (stale pid files are removed)
is_running() {
  local f pid
  f="$(pid_file "$1")"
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  if [[ -n "$pid" ]] && pid_alive "$pid"; then return 0; fi
  rm -f "$f"
  return 1
}

# A killed process whose parent has not reaped it yet is a zombie: kill -0 still
# succeeds, but it is not running.
pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo gone)"
  [[ "$state" != Z && "$state" != gone ]]
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Fail early, with the culprit named, when a port we need is taken by a process we
# did not start (for example a previous stack whose pid files were deleted).
require_free_port() {
  local name="$1" port="$2"
  if port_open "$port"; then
    die "$name: port $port is already in use by another process; stop it or set a different port (ports: docs/operations.md)"
  fi
}

# wait_for NAME SECONDS CMD... : poll CMD until it succeeds.
wait_for() {
  local name="$1" limit="$2"; shift 2
  local i
  for ((i = 0; i < limit * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ -f "$(pid_file "$name")" ]] && ! is_running "$name"; then
      tail -n 30 "$log_dir/$name.log" >&2 || true
      die "$name exited during start-up (log: $log_dir/$name.log)"
    fi
    sleep 0.25
  done
  tail -n 30 "$log_dir/$name.log" >&2 || true
  die "$name did not become ready within ${limit}s (log: $log_dir/$name.log)"
}

# start_bg NAME CMD... : start CMD detached, in its own session, log to logs/NAME.log.
start_bg() {
  local name="$1"; shift
  setsid "$@" >>"$log_dir/$name.log" 2>&1 < /dev/null &
  echo $! >"$(pid_file "$name")"
}

# stop_pid NAME [SIGNAL] : signal the recorded process (TERM by default), KILL after a
# grace period.
stop_pid() {
  local name="$1" sig="${2:-TERM}" f pid i
  f="$(pid_file "$name")"
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if pid_alive "$pid"; then
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do pid_alive "$pid" || break; sleep 0.25; done
    if pid_alive "$pid"; then

      log "$name (pid $pid) ignored $sig for 15 s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$f"
}

dapr_bin() { echo "$(dapr_bin_dir)/$1"; }
