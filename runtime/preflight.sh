#!/usr/bin/env bash
# Check (and, as root on Debian, install) the machine tools the local stack needs:
# Go (GO_MIN_VERSION or newer, until the Dapr binaries are cached), Java 17+ and Maven
# (Kafka), PostgreSQL, curl, envsubst, setpriv, flock.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
missing_pkgs=()
command -v curl >/dev/null || missing_pkgs+=(curl)
command -v envsubst >/dev/null || missing_pkgs+=(gettext-base)
command -v setpriv >/dev/null || missing_pkgs+=(util-linux)
command -v flock >/dev/null || missing_pkgs+=(util-linux)
command -v mvn >/dev/null || missing_pkgs+=(maven)
command -v java >/dev/null || missing_pkgs+=(openjdk-17-jre-headless)
[[ -x "/usr/lib/postgresql/$POSTGRES_MAJOR/bin/postgres" ]] || missing_pkgs+=("postgresql-$POSTGRES_MAJOR")
command -v psql >/dev/null || missing_pkgs+=(postgresql-client)
if [[ ${#missing_pkgs[@]} -gt 0 ]]; then
  [[ "$(id -u)" == 0 ]] || die "missing packages: ${missing_pkgs[*]} (install them with apt-get)"
  log "installing ${missing_pkgs[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing_pkgs[@]}" >/dev/null
fi
# Go builds the Dapr binaries (runtime/build-dapr.sh) when they are not cached yet.
dapr_binaries_cached || require_go
