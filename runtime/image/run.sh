#!/usr/bin/env bash
# run.sh COMMAND : run the built image (build/progress-service-image.tar) beside the local
# stack (`make up`), with podman as the chart runs it: host network, read-only root file
# system, no /tmp, user 10001. Podman's storage stays in build/containers.
#
#   load             load the archive into build/ storage (quick when already loaded)
#   migrate          the chart's migrations job: `alembic upgrade head` from the image
#   start [NAME]     daprd (runtime/app.sh start-daprd NAME) + the image's own command as
#                    NAME-app, in the background; waits until healthy (NAME: image).
#                    PROGRESS_ROLE (api|actors|all) picks the role, as in the chart; with
#                    APP_PORT other than 8000 (a second role beside the first, both on the
#                    host network) the command is the image's with that port
#   stop [NAME]      stop both (runtime/app.sh stop NAME)
#   exec CMD...      run CMD in the image (for example `python verify.py`); passes the
#                    VERIFY_* and PROGRESS_* variables of the caller
#
# The instance has its own Dapr app id (namespace, consumer group) and database, like
# the test instance: DAPR_APP_ID (progress-image) and PG_DATABASE (progress_image). The
# image's command listens on port 8000 (the chart's); daprd's ports come from
# DAPR_HTTP_PORT (13700), DAPR_GRPC_PORT (15701), DAPR_METRICS_PORT (19701),
# DAPR_INTERNAL_GRPC_PORT (15711).
set -euo pipefail
export DAPR_APP_ID="${DAPR_APP_ID:-progress-image}" PG_DATABASE="${PG_DATABASE:-progress_image}"
export DAPR_HTTP_PORT="${DAPR_HTTP_PORT:-13700}" DAPR_GRPC_PORT="${DAPR_GRPC_PORT:-15701}"
export DAPR_METRICS_PORT="${DAPR_METRICS_PORT:-19701}" DAPR_INTERNAL_GRPC_PORT="${DAPR_INTERNAL_GRPC_PORT:-15711}"
export APP_PORT="${APP_PORT:-8000}"  # the image's command (the chart's): --port 8000
source "$(dirname "$0")/../lib.sh"
source "$runtime_dir/image/tools.sh"
cmd="${1:?usage: run.sh load|migrate|start [NAME]|stop [NAME]|exec CMD...}"
shift

# runc, not crun, and explicit ulimits: the only combination that runs here (docs/image.md).
podman_cmd=(podman "${storage_opts[@]}" --tmpdir "$containers_root/tmp" --cgroup-manager cgroupfs
  --events-backend none)
run_opts=(--rm --runtime runc --network host --ulimit nofile=4096:4096 --ulimit nproc=4096:4096
  --read-only --read-only-tmpfs=false --cap-drop ALL --security-opt no-new-privileges)

load() {
  [[ -s "$image_archive" ]] || die "no image at $image_archive: run make image"
  ensure_image_tools
  mkdir -p "$containers_root/tmp"
  "${podman_cmd[@]}" pull -q "oci-archive:$image_archive"
  "${podman_cmd[@]}" image prune -f >/dev/null  # earlier builds of the archive
}

# The app's settings, as the chart gives them (tokens by name only: not on the command
# line, where ps would show them).
app_env() {
  APP_API_TOKEN="$(cat "$STACK_DIR/secrets/app_api_token")"
  DAPR_API_TOKEN="$(cat "$STACK_DIR/secrets/dapr_api_token")"
  PROGRESS_DATABASE_URL="${PROGRESS_DATABASE_URL:-postgresql+asyncpg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE}"
  export APP_API_TOKEN DAPR_API_TOKEN PROGRESS_DATABASE_URL
  env_opts=(--env APP_API_TOKEN --env DAPR_API_TOKEN --env PROGRESS_DATABASE_URL
    --env "DAPR_HTTP_PORT=$DAPR_HTTP_PORT" --env "DAPR_GRPC_PORT=$DAPR_GRPC_PORT"
    --env "PROGRESS_LOG_FORMAT=${PROGRESS_LOG_FORMAT:-json}")
  local name
  while IFS= read -r name; do env_opts+=(--env "$name"); done \
    < <(compgen -e | grep -E '^(PROGRESS|VERIFY)_' | grep -vx PROGRESS_DATABASE_URL || true)
}

case "$cmd" in
  load) load ;;
  migrate)
    image="$(load)"
    export PROGRESS_DATABASE_URL="${PROGRESS_DATABASE_URL:-postgresql+asyncpg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE}"
    "${podman_cmd[@]}" run "${run_opts[@]}" --env PROGRESS_DATABASE_URL "$image" alembic upgrade head
    log "database $PG_DATABASE migrated by the image" ;;
  start)
    name="${1:-image}"
    image="$(load)"
    "$runtime_dir/app.sh" start-daprd "$name"
    if is_running "$name-app"; then log "$name-app already running"; else
      require_free_port "$name-app" "$APP_PORT"
      app_env
      # podman run in the foreground of its own session: its pid is recorded as the app's,
      # so app.sh stop sends it SIGTERM, which it passes to uvicorn (--sig-proxy).
      command=()
      [[ "$APP_PORT" == 8000 ]] || command=(uvicorn service.main:app --host 0.0.0.0
        --port "$APP_PORT" --timeout-keep-alive 620)
      start_bg "$name-app" "${podman_cmd[@]}" run "${run_opts[@]}" --name "progress-$name-app" \
        --replace "${env_opts[@]}" "$image" "${command[@]}"
    fi
    "$runtime_dir/app.sh" wait "$name" ;;
  stop) "$runtime_dir/app.sh" stop "${1:-image}" ;;
  exec)
    (($#)) || die "usage: run.sh exec CMD..."
    image="$(load)"
    app_env
    "${podman_cmd[@]}" run "${run_opts[@]}" "${env_opts[@]}" "$image" "$@" ;;
  *) die "unknown command $cmd" ;;
esac
