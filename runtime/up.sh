#!/usr/bin/env bash
# Start the backing services of the local stack in the background and wait until each
# answers: PostgreSQL, Kafka (KRaft, single node), Dapr placement and Dapr scheduler.
# Services already running (recorded in .stack/run/*.pid) are left alone; stale pid
# files from a crash are cleaned up. With STARTED_FILE set, the names of the services
# this call started are appended to it, so a caller can stop only those.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

"$runtime_dir/preflight.sh"
"$runtime_dir/build-dapr.sh"
"$runtime_dir/fetch-kafka.sh"

started() { [[ -n "${STARTED_FILE:-}" ]] && echo "$1" >>"$STARTED_FILE"; log "$1 ready"; }

# ---------------------------------------------------------------- PostgreSQL
pg_bin="/usr/lib/postgresql/$POSTGRES_MAJOR/bin"
# PostgreSQL refuses to run as root: drop to the 'postgres' account with setpriv, which
# execs (no fork), so the recorded pid is the postmaster's.
as_pg=()
[[ "$(id -u)" == 0 ]] && as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups)
start_postgres() {
  if is_running postgres; then log "postgres already running"; return; fi
  local data="$STACK_DIR/pg/data" sock="$STACK_DIR/pg/sock"
  mkdir -p "$STACK_DIR/pg" "$sock"
  [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$STACK_DIR/pg" "$sock"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initialising PostgreSQL cluster in $data"
    local pw="$STACK_DIR/pg/.pw"
    echo "$PG_PASSWORD" >"$pw"
    [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$pw"
    "${as_pg[@]}" "$pg_bin/initdb" -D "$data" -U "$PG_USER" --pwfile="$pw" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >>"$log_dir/postgres.log" 2>&1
    rm -f "$pw"
  fi
  rm -f "$data/postmaster.pid"  # left by a crash; the port check below guards a live one
  require_free_port postgres "$PG_PORT"
  start_bg postgres "${as_pg[@]}" "$pg_bin/postgres" -D "$data" -p "$PG_PORT" -k "$sock" \
    -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off \
    -c synchronous_commit=off -c full_page_writes=off
  wait_for postgres 60 "$pg_bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER"
  started postgres
}

# Each instance (make run, the tests, the benchmark) has its own database (PG_DATABASE),
# created here when missing, whoever started PostgreSQL.
ensure_database() {
  if ! PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -Atc \
      "select 1 from pg_database where datname = '$PG_DATABASE'" | grep -q 1; then
    PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -qc \
      "create database \"$PG_DATABASE\"" >/dev/null
    log "database $PG_DATABASE created"
  fi
}

# ---------------------------------------------------------------- Kafka
# KAFKA_JVM_FLAGS: JIT and GC flags of the broker and its tools. The default compiles
# with C1 only: in the minutes a test run or a benchmark lasts, C2's compiling was most
# of the broker's CPU on a 2-core machine (docs/performance.md, "Kafka, cold"). For a
# broker that runs for hours, KAFKA_JVM_FLAGS=-XX:+UseG1GC gives the JVM's default.
# shellcheck disable=SC2206 # a list of flags
kafka_jvm_flags=(${KAFKA_JVM_FLAGS:--XX:+UseG1GC -XX:TieredStopAtLevel=1})
kafka_java=(java -Xms256m -Xmx768m "${kafka_jvm_flags[@]}" -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$STACK_DIR/kafka/log4j2.properties" -cp "$(kafka_lib_dir)/*")
kafka_topics() {
  "${kafka_java[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" "$@"
}
start_kafka() {
  if is_running kafka; then log "kafka already running"; return; fi
  local dir="$STACK_DIR/kafka"
  mkdir -p "$dir/data"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$dir/data|g" "$runtime_dir/kafka/server.properties.in" >"$dir/server.properties"
  cp "$runtime_dir/kafka/log4j2.properties" "$dir/log4j2.properties"
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    log "formatting KRaft storage in $dir/data"
    local cluster_id
    cluster_id="$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
    # --cluster-id=ID: a base64url id may start with '-', which a separate argument
    # would turn into an option.
    "${kafka_java[@]}" kafka.tools.StorageTool format --standalone --cluster-id="$cluster_id" \
      -c "$dir/server.properties" >>"$log_dir/kafka.log" 2>&1
  fi
  require_free_port kafka "$KAFKA_PORT"
  require_free_port kafka-controller "$KAFKA_CONTROLLER_PORT"
  start_bg kafka "${kafka_java[@]}" kafka.Kafka "$dir/server.properties"
  wait_for kafka 120 port_open "$KAFKA_PORT"
  ensure_topics
  started kafka
}
ensure_topics() {
  local existing t pids=()
  existing="$(kafka_topics --list 2>>"$log_dir/kafka.log")"
  for t in learning.events exercise.events code.events progress.updated struggle.detected \
           progress.deadletter; do
    if ! grep -qx "$t" <<<"$existing"; then
      kafka_topics --create --if-not-exists --topic "$t" --partitions "${KAFKA_PARTITIONS:-6}" \
        --replication-factor 1 --config retention.ms=604800000 >>"$log_dir/kafka.log" 2>&1 &
      pids+=($!)
    fi
  done
  if ! grep -qx "progress.health" <<<"$existing"; then
    # GET /health publishes a small probe here; keep it small and short-lived.
    kafka_topics --create --if-not-exists --topic progress.health --partitions 1 \
      --replication-factor 1 --config retention.ms=3600000 >>"$log_dir/kafka.log" 2>&1 &
    pids+=($!)
  fi
  for t in "${pids[@]}"; do wait "$t" || true; done
  existing="$(kafka_topics --list 2>>"$log_dir/kafka.log")"
  for t in learning.events exercise.events code.events progress.updated struggle.detected \
           progress.deadletter; do
    grep -qx "$t" <<<"$existing" || die "kafka topic $t could not be created (log: $log_dir/kafka.log)"
  done
}

# ---------------------------------------------------------------- Dapr control plane
healthz() { curl -fsS "http://127.0.0.1:$1/healthz"; }
start_placement() {
  if is_running placement; then log "placement already running"; return; fi
  require_free_port placement "$PLACEMENT_PORT"
  start_bg placement "$(dapr_bin placement)" --port "$PLACEMENT_PORT" --listen-address 127.0.0.1 \
    --healthz-port "$PLACEMENT_HEALTH_PORT" --healthz-listen-address 127.0.0.1 \
    --metrics-port "$PLACEMENT_METRICS_PORT" --metrics-listen-address 127.0.0.1 \
    --initial-cluster "dapr-placement-0=127.0.0.1:$PLACEMENT_RAFT_PORT" --metadata-enabled
  wait_for placement 60 healthz "$PLACEMENT_HEALTH_PORT"
  started placement
}
start_scheduler() {
  if is_running scheduler; then log "scheduler already running"; return; fi
  require_free_port scheduler "$SCHEDULER_PORT"
  mkdir -p "$STACK_DIR/scheduler"
  start_bg scheduler "$(dapr_bin scheduler)" --port "$SCHEDULER_PORT" --listen-address 127.0.0.1 \
    --healthz-port "$SCHEDULER_HEALTH_PORT" --healthz-listen-address 127.0.0.1 \
    --metrics-port "$SCHEDULER_METRICS_PORT" --metrics-listen-address 127.0.0.1 \
    --etcd-data-dir "$STACK_DIR/scheduler/etcd" --etcd-client-port "$SCHEDULER_ETCD_CLIENT_PORT" \
    --etcd-initial-cluster "dapr-scheduler-server-0=http://localhost:$SCHEDULER_ETCD_PEER_PORT" \
    --override-broadcast-host-port "127.0.0.1:$SCHEDULER_PORT" \
    --identity-directory-write "$STACK_DIR/scheduler/identity"
  wait_for scheduler 90 healthz "$SCHEDULER_HEALTH_PORT"
  started scheduler
}

# Kafka's JVM start is the slowest; start the others meanwhile.
start_postgres
start_kafka
start_placement
start_scheduler
ensure_database
"$runtime_dir/migrate.sh"
log "stack up: postgres :$PG_PORT, kafka :$KAFKA_PORT, placement :$PLACEMENT_PORT, scheduler :$SCHEDULER_PORT (logs in $log_dir)"
