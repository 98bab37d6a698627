#!/usr/bin/env bash
# Install Debian's PostgreSQL server packages when they are missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -x "/usr/lib/postgresql/$POSTGRES_MAJOR/bin/postgres" ]] && exit 0
[[ "$(id -u)" == 0 ]] || die "PostgreSQL $POSTGRES_MAJOR is not installed; run: sudo apt-get install postgresql-$POSTGRES_MAJOR"
log "installing postgresql-$POSTGRES_MAJOR from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "postgresql-$POSTGRES_MAJOR" postgresql-client >/dev/null
# The package may create and start its own cluster on 5432; we use our own cluster.
