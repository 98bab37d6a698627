#!/usr/bin/env bash
# app.sh start|stop|restart [NAME] : the service (uvicorn) and its daprd sidecar, in the
# background, recorded as NAME-app and NAME-daprd in .stack/run (NAME defaults to
# "app"). Ports come from APP_PORT, DAPR_HTTP_PORT, DAPR_GRPC_PORT, DAPR_METRICS_PORT,
# DAPR_INTERNAL_GRPC_PORT. `app.sh start` waits until /health answers 200. DAPRD_EXTRA_ARGS
# adds daprd flags (e.g. "--enable-profiling --profile-port 7777" for `go tool pprof`).
# Single parts: start-daprd|stop-daprd|start-app|stop-app.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cmd="${1:?usage: app.sh start|stop|restart [NAME]}"
name="${2:-app}"
export DAPR_APP_ID="${DAPR_APP_ID:-progress-service}"
# daprd's namespace: placement and the scheduler keep actors and reminders per namespace,
# so the test and benchmark instances (their own app id, namespace and database) never
# host make run's actors or fire its reminders, nor the other way round.
export NAMESPACE="${DAPR_NAMESPACE:-$DAPR_APP_ID}"
# API tokens between the app and its sidecar: daprd sends APP_API_TOKEN on every call to
# the app; callers of daprd (the app, producers, tests) send DAPR_API_TOKEN. Generated
# once per local stack into .stack/secrets (git-ignored).
secret() {
  local f="$STACK_DIR/secrets/$1"
  if [[ ! -s "$f" ]]; then
    mkdir -p "$STACK_DIR/secrets" && chmod 700 "$STACK_DIR/secrets"
    (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$f")
  fi
  cat "$f"
}
APP_API_TOKEN="$(secret app_api_token)"
DAPR_API_TOKEN="$(secret dapr_api_token)"
export APP_API_TOKEN DAPR_API_TOKEN


# App health: probes every 5 s wait up to 3 s; 5 misses in a row mark the app unhealthy (daprd
# then withdraws its actors from placement). With the defaults (500 ms, 3) an app busy
# with a backlog was declared unhealthy and lost its actors mid-turn (docs/performance.md).
start_daprd() {
  if is_running "$name-daprd"; then log "$name-daprd already running"; return; fi
  local res="$STACK_DIR/components-$name"
  "$runtime_dir/render-components.sh" "$res"
  require_free_port "$name-daprd" "$DAPR_HTTP_PORT"
  # daprd's garbage collector: Go's defaults unless DAPRD_GOGC / DAPRD_GOMEMLIMIT say
  # otherwise (GOGC=400 was no steady gain here and cost ~110 MB: docs/performance.md).
  # shellcheck disable=SC2086 # DAPRD_EXTRA_ARGS is a list of flags
  GOGC="${DAPRD_GOGC:-100}" GOMEMLIMIT="${DAPRD_GOMEMLIMIT:-off}" \
  DAPR_HOST_IP=127.0.0.1 start_bg "$name-daprd" "$(dapr_bin daprd)" \
    --app-id "$DAPR_APP_ID" --app-port "$APP_PORT" --app-protocol http \
    --dapr-http-port "$DAPR_HTTP_PORT" --dapr-grpc-port "$DAPR_GRPC_PORT" \
    --dapr-internal-grpc-port "$DAPR_INTERNAL_GRPC_PORT" --dapr-listen-addresses 127.0.0.1 \
    --metrics-port "$DAPR_METRICS_PORT" --metrics-listen-address 127.0.0.1 \
    --resources-path "$res" --config "$repo_dir/components/config.yaml" \
    --placement-host-address "127.0.0.1:$PLACEMENT_PORT" \
    --scheduler-host-address "127.0.0.1:$SCHEDULER_PORT" \
    --enable-app-health-check --app-health-check-path /healthz \
    --app-health-probe-interval 5 --app-health-probe-timeout 3000 --app-health-threshold 5 \
    --log-level "${DAPR_LOG_LEVEL:-info}" ${DAPRD_EXTRA_ARGS:-}
}

start_app() {
  if is_running "$name-app"; then log "$name-app already running"; return; fi
  require_free_port "$name-app" "$APP_PORT"
  cd "$repo_dir"
  # APP_MODULE lets the benchmark run its no-op floor subscriber the same way.
  # PROGRESS_KAFKA_BROKERS: the local broker daprd's components use (render-components.sh),
  # read by the app itself only for GET /ops/intake (consumer lag, dead letters).
  DAPR_HTTP_PORT="$DAPR_HTTP_PORT" DAPR_GRPC_PORT="$DAPR_GRPC_PORT" \
  PROGRESS_DATABASE_URL="${PROGRESS_DATABASE_URL:-postgresql+asyncpg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE}" \
  PROGRESS_KAFKA_BROKERS="${PROGRESS_KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}" \
    start_bg "$name-app" "$repo_dir/.venv/bin/uvicorn" "${APP_MODULE:-service.main:app}" \
      --host 127.0.0.1 --port "$APP_PORT" --no-access-log --timeout-keep-alive 620
}

wait_healthy() {
  wait_for "$name-app" 120 curl -fsS "http://127.0.0.1:$APP_PORT/health"
  [[ "${WAIT_FOR_ACTORS:-1}" == 1 ]] && wait_for "$name-daprd" 60 actors_registered

  log "$name ready: app :$APP_PORT, daprd http :$DAPR_HTTP_PORT"
}

actors_registered() {
  curl -fsS -H "dapr-api-token: $DAPR_API_TOKEN" "http://127.0.0.1:$DAPR_HTTP_PORT/v1.0/metadata" \
    | grep -q StudentProgressActor
}


case "$cmd" in
  start) start_daprd; start_app; wait_healthy ;;
  stop) stop_pid "$name-app"; stop_pid "$name-daprd" ;;
  restart) stop_pid "$name-app"; stop_pid "$name-daprd"; start_daprd; start_app; wait_healthy ;;
  start-daprd) start_daprd ;;
  stop-daprd) stop_pid "$name-daprd" ;;
  start-app) start_app ;;
  stop-app) stop_pid "$name-app" ;;
  wait) wait_healthy ;;
  *) die "unknown command $cmd" ;;
esac
