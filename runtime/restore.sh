#!/usr/bin/env bash
# restore.sh DIR : restore a backup taken by runtime/backup.sh on the local stack. The
# database (named in DIR/manifest, or PG_DATABASE) is dropped and re-created from the
# dump, the Dapr scheduler's data directory is replaced by the copy (the one it replaces
# is kept in .stack/scheduler/etcd.before-restore), then `make up` starts the scheduler
# and migrates the database to this checkout's head (a backup of an older release is
# upgraded). Stop the instance's app before (runtime/app.sh stop NAME); start it after,
# then check the reminders: python -m service.ops_backup.rearm (docs/install.md).
#
# Every instance's reminders live in the one scheduler: restoring it rolls back the
# other instances' reminders too (make run's, the tests'), to the time of the backup.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dir="${1:?usage: restore.sh BACKUP_DIR}"
[[ -f "$dir/postgres.dump" && -f "$dir/scheduler-etcd.tar.gz" && -f "$dir/manifest" ]] \
  || die "$dir is not a backup of runtime/backup.sh (postgres.dump, scheduler-etcd.tar.gz, manifest)"
manifest_db="$(sed -n 's/^database=//p' "$dir/manifest")"
PG_DATABASE="${RESTORE_DATABASE:-$manifest_db}"
[[ "$PG_DATABASE" =~ ^[A-Za-z0-9_]+$ ]] || die "database name '$PG_DATABASE': letters, digits and _ only"
export PG_DATABASE
pg_bin="/usr/lib/postgresql/$POSTGRES_MAJOR/bin"
tar -tzf "$dir/scheduler-etcd.tar.gz" etcd/dapr-scheduler-existing-cluster >/dev/null 2>&1 \
  || die "$dir/scheduler-etcd.tar.gz has no etcd/dapr-scheduler-existing-cluster: the scheduler would wipe it at start"

if ! is_running postgres; then
  log "starting PostgreSQL"
  "$runtime_dir/up.sh" >/dev/null
fi

# ---------------------------------------------------------------- 1. PostgreSQL
psql_admin() { PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -qAt "$@"; }
# (force): connections still open (an app left running, a psql) are ended, not waited for
psql_admin -c "drop database if exists \"$PG_DATABASE\" with (force)"
psql_admin -c "create database \"$PG_DATABASE\""
PGPASSWORD="$PG_PASSWORD" "$pg_bin/pg_restore" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" \
  --no-owner --no-privileges --exit-on-error -d "$PG_DATABASE" "$dir/postgres.dump"
log "PostgreSQL database $PG_DATABASE restored"

# ---------------------------------------------------------------- 2. scheduler
"$runtime_dir/down.sh" scheduler
sched="$STACK_DIR/scheduler"
mkdir -p "$sched"
rm -rf "$sched/etcd.before-restore"
[[ -d "$sched/etcd" ]] && mv "$sched/etcd" "$sched/etcd.before-restore"
tar -C "$sched" -xzf "$dir/scheduler-etcd.tar.gz"
log "scheduler data restored (the replaced copy: $sched/etcd.before-restore)"

# ---------------------------------------------------------------- 3. start, migrate
out="$(mktemp)"
if ! "$runtime_dir/up.sh" >"$out" 2>&1; then
  cat "$out" >&2; rm -f "$out"
  die "make up failed after the restore (scheduler log: $log_dir/scheduler.log)"
fi
grep -E 'scheduler|migrated' "$out" >&2 || true
rm -f "$out"
log "restored $dir into database $PG_DATABASE and the scheduler"
