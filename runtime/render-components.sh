#!/usr/bin/env bash
# render-components.sh OUT_DIR : fill the ${VARS} of components/*.yaml for a local
# daprd (Kafka brokers, Postgres connection string, app id) into OUT_DIR.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out="$1"
# Intake lanes: one Kafka component per lane (the app's setting PROGRESS_INTAKE_LANES,
# read from the same variable so both agree).
if [[ -n "${INTAKE_LANES:-}" ]]; then
  log "warning: INTAKE_LANES is no longer read: set PROGRESS_INTAKE_LANES instead"
fi
lanes="${PROGRESS_INTAKE_LANES:-3}"
if ! [[ "$lanes" =~ ^[0-9]+$ ]] || (( lanes < 1 || lanes > 16 )); then
  die "PROGRESS_INTAKE_LANES must be a whole number from 1 to 16, not '$lanes'"
fi
mkdir -p "$out"
rm -f "$out"/*.yaml
export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export KAFKA_PROTOCOL_VERSION="$KAFKA_VERSION"
export DAPR_APP_ID="${DAPR_APP_ID:-progress-service}"
export DAPR_PG_CONNECTION_STRING="host=127.0.0.1 port=$PG_PORT user=$PG_USER password=$PG_PASSWORD dbname=$PG_DATABASE sslmode=disable"
INTAKE_RESILIENCY_TARGETS=""
for lane in $(seq 1 "$lanes"); do
  INTAKE_RESILIENCY_TARGETS+="      kafka-intake-$lane:"$'\n'"        inbound:"$'\n'"          retry: inboundEvent"$'\n'
done
export INTAKE_RESILIENCY_TARGETS="${INTAKE_RESILIENCY_TARGETS%$'\n'}"
vars='${KAFKA_BROKERS} ${KAFKA_PROTOCOL_VERSION} ${DAPR_APP_ID} ${DAPR_PG_CONNECTION_STRING} ${INTAKE_RESILIENCY_TARGETS}'
for f in "$repo_dir"/components/*.yaml; do
  case "$(basename "$f")" in
    config.yaml) continue ;;
    pubsub-intake.yaml)
      for lane in $(seq 1 "$lanes"); do
        INTAKE_LANE=$lane envsubst "$vars \${INTAKE_LANE}" <"$f" >"$out/pubsub-intake-$lane.yaml"
      done ;;
    *) envsubst "$vars" <"$f" >"$out/$(basename "$f")" ;;
  esac
done
