#!/usr/bin/env bash
# make run: start the backing services (if not running), then daprd and the app.
# Ctrl-C stops everything this command started, by PID; services that were already
# running (for example from `make up`) are left running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# RUN_NAME names the app + daprd pair (.stack/run/NAME-app.pid); the test of this script
# runs its own beside a developer's.
name="${RUN_NAME:-app}"
started_file="$(mktemp)"
# Every step of the cleanup runs whatever the one before did: under `set -e` a failed
# `kill` of the log-following tail (already gone when the whole process group got the
# signal) used to end the script before anything was stopped.
# Signals are ignored, not reset, while it runs: GNU make passes a SIGTERM it receives on
# to its children, so after `kill -TERM -- -<group>` run.sh gets a second SIGTERM a moment
# after the first, which used to kill it half-way through the cleanup (the app and daprd
# left running; seen in the test of this script).
cleanup() {
  trap '' INT TERM
  trap - EXIT
  set +e
  if [[ -n "${tail_pid:-}" ]]; then kill "$tail_pid" 2>/dev/null; fi
  log "stopping what make run started..."
  "$runtime_dir/app.sh" stop "$name"
  local started=()
  mapfile -t started <"$started_file"
  if [[ ${#started[@]} -gt 0 ]]; then "$runtime_dir/down.sh" "${started[@]}"; fi
  rm -f "$started_file"
}
# After a signal, stop here (130 / 143, as the signal would) instead of going on with the
# step it interrupted.
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT
STARTED_FILE="$started_file" "$runtime_dir/up.sh"
"$runtime_dir/app.sh" start "$name"
log "Progress Service on http://127.0.0.1:$APP_PORT (health: /health, docs: /docs); Ctrl-C stops"
tail -n 20 -F "$log_dir/$name-app.log" &
tail_pid=$!
# Wait until the app or daprd exits (or Ctrl-C).
while is_running "$name-app" && is_running "$name-daprd"; do sleep 1; done
kill "$tail_pid" 2>/dev/null || true
log "app or daprd exited (logs: $log_dir/$name-app.log, $log_dir/$name-daprd.log)"
