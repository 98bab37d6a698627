#!/usr/bin/env bash
# make run: start the backing services (if not running), then daprd and the app.
# Ctrl-C stops everything this command started, by PID; services that were already
# running (for example from `make up`) are left running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# RUN_NAME names the app + daprd pair (.stack/run/NAME-app.pid); the test of this script
# runs its own beside a developer's.
name="${RUN_NAME:-app}"
# ROLES=all (the default): one process of role all. ROLES=split: the two roles as the
# chart runs them (docs/operations.md, "Roles"): the front end (role api, app id
# <app id>-api) on the usual ports as NAME, the actor host (role actors, the app id) on
# every port + 50 as NAME-actors, both in the namespace of the app id.
roles="${ROLES:-all}"
[[ "$roles" == all || "$roles" == split ]] || die "ROLES is all or split, not $roles"
app_id="${DAPR_APP_ID:-progress-service}"
pairs=("$name")
[[ "$roles" == split ]] && pairs=("$name-actors" "$name")
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
  local pair
  for pair in "${pairs[@]}"; do "$runtime_dir/app.sh" stop "$pair"; done
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
if [[ "$roles" == split ]]; then
  ( export APP_PORT=$((APP_PORT + 50)) DAPR_HTTP_PORT=$((DAPR_HTTP_PORT + 50))
    export DAPR_GRPC_PORT=$((DAPR_GRPC_PORT + 50)) DAPR_METRICS_PORT=$((DAPR_METRICS_PORT + 50))
    export DAPR_INTERNAL_GRPC_PORT=$((DAPR_INTERNAL_GRPC_PORT + 50))
    export PROGRESS_ROLE=actors DAPR_APP_ID="$app_id" DAPR_NAMESPACE="$app_id"
    "$runtime_dir/app.sh" start "$name-actors" )
  ( export PROGRESS_ROLE=api DAPR_APP_ID="$app_id-api" DAPR_NAMESPACE="$app_id"
    export PROGRESS_ACTOR_HOST_APP_ID="$app_id" WAIT_FOR_ACTORS=0
    "$runtime_dir/app.sh" start "$name" )
  log "actor host on http://127.0.0.1:$((APP_PORT + 50)) (/health, /metrics)"
else
  "$runtime_dir/app.sh" start "$name"
fi
log "Progress Service on http://127.0.0.1:$APP_PORT (health: /health, docs: /docs); Ctrl-C stops"
logs=()
for pair in "${pairs[@]}"; do logs+=("$log_dir/$pair-app.log"); done
tail -n 20 -F "${logs[@]}" &
tail_pid=$!
# Wait until an app or a daprd exits (or Ctrl-C).
running() {
  local pair
  for pair in "${pairs[@]}"; do is_running "$pair-app" && is_running "$pair-daprd" || return 1; done
}
while running; do sleep 1; done
kill "$tail_pid" 2>/dev/null || true
log "an app or daprd exited (logs in $log_dir: ${pairs[*]/%/-app.log}, and -daprd.log of each)"
