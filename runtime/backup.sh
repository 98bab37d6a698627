#!/usr/bin/env bash
# backup.sh [DIR] : back up one instance of the local stack: its PostgreSQL database
# (actor state, alerts, read model, event log, rule sets, rosters: PG_DATABASE, default
# "progress") and the Dapr scheduler's embedded etcd (every reminder), into DIR (default
# .stack/backups/<UTC time>). Restore with runtime/restore.sh DIR.
#
# Order, and why (docs/decisions/014-backup-state-then-reminders.md): PostgreSQL first,
# then the scheduler. For an exact pair, stop the instance's app first (nothing then
# writes state or reminders); without that, run `python -m service.ops_backup.rearm --all`
# after a restore. The scheduler is stopped while its data directory is copied (a cold
# copy of a single etcd member: consistent by construction) and started again; daprd
# sidecars reconnect, and a reminder due meanwhile fires a few seconds late.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dir="${1:-$STACK_DIR/backups/$(date -u +%Y%m%dT%H%M%SZ)}"
pg_bin="/usr/lib/postgresql/$POSTGRES_MAJOR/bin"
etcd_dir="$STACK_DIR/scheduler/etcd"

[[ -e "$dir" && -n "$(ls -A "$dir" 2>/dev/null)" ]] && die "$dir exists and is not empty"
is_running postgres || die "postgres is not running (make up): nothing to back up from"
[[ -d "$etcd_dir" ]] || die "no scheduler data in $etcd_dir (make up has never run here)"
mkdir -p "$dir"

# ---------------------------------------------------------------- 1. PostgreSQL
revision="$(PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" \
  -d "$PG_DATABASE" -Atc "select version_num from alembic_version")" \
  || die "database $PG_DATABASE cannot be read (does it exist? is it migrated?)"
PGPASSWORD="$PG_PASSWORD" "$pg_bin/pg_dump" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" \
  --format=custom --no-owner --no-privileges --file "$dir/postgres.dump" "$PG_DATABASE"
pg_done="$(date -u +%FT%TZ)"
log "PostgreSQL database $PG_DATABASE (revision $revision) dumped"

# ---------------------------------------------------------------- 2. scheduler
was_running=0
if is_running scheduler; then
  was_running=1
  # however the copy ends, the scheduler is started again
  trap '"$runtime_dir/up.sh" >/dev/null 2>&1 || log "ERROR: could not start the scheduler again: run make up"' EXIT
  "$runtime_dir/down.sh" scheduler
fi
tar -C "$STACK_DIR/scheduler" -czf "$dir/scheduler-etcd.tar.gz" etcd
scheduler_done="$(date -u +%FT%TZ)"
if [[ "$was_running" == 1 ]]; then
  trap - EXIT
  out="$(mktemp)"
  if ! "$runtime_dir/up.sh" >"$out" 2>&1; then
    cat "$out" >&2; rm -f "$out"
    die "the scheduler did not start again (log: $log_dir/scheduler.log)"
  fi
  rm -f "$out"
fi
log "scheduler data copied"

cat >"$dir/manifest" <<EOF
database=$PG_DATABASE
alembic_revision=$revision
postgres_dumped_at=$pg_done
scheduler_copied_at=$scheduler_done
dapr_version=$DAPR_VERSION
EOF
du -sh "$dir"/postgres.dump "$dir"/scheduler-etcd.tar.gz | sed 's/^/  /' >&2
log "backup in $dir"
echo "$dir"
