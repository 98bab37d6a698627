#!/usr/bin/env bash
# Resolve the pinned Kafka broker, its tools and a log4j2 backend with Maven and copy
# the jars into the cache ($PROGRESS_CACHE/kafka/<version>/libs). Skips when present.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

libs="$(kafka_lib_dir)"
pom_sha="$(sha256sum "$runtime_dir/kafka/pom.xml" | cut -d' ' -f1)"
if [[ -f "$libs/.complete" && "$(cat "$libs/.complete")" == "$pom_sha" ]]; then
  log "kafka $KAFKA_VERSION jars cached in $libs"
  exit 0
fi
command -v mvn >/dev/null || die "mvn not found (Maven is needed once to fetch Kafka's jars)"
command -v java >/dev/null || die "java not found (Kafka ${KAFKA_VERSION} needs Java 17+)"
log "fetching kafka $KAFKA_VERSION jars with Maven into $libs (first time only; ~25 s, 9 s when Maven already has the jars)"
rm -rf "$libs" && mkdir -p "$libs"
mvn -B -q -Dstyle.color=never -f "$runtime_dir/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs"
echo "$pom_sha" >"$libs/.complete"
log "kafka jars ready: $(find "$libs" -name '*.jar' | wc -l) jars"
