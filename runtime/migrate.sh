#!/usr/bin/env bash
# Apply the Alembic migrations (alembic upgrade head) to the local database.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_dir"
export PROGRESS_DATABASE_URL="${PROGRESS_DATABASE_URL:-postgresql+asyncpg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE}"
"$repo_dir/.venv/bin/alembic" upgrade head 2>&1 | sed 's/^/  alembic: /' >&2
log "database migrated to head"
