#!/usr/bin/env bash
# make test: lint, unit tests, then integration tests against the real stack. Starts
# the backing services that are not running and stops, by PID, only those it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_dir"
started_file="$(mktemp)"
cleanup() {
  local rc=$?
  trap - INT TERM EXIT
  mapfile -t started <"$started_file"
  if [[ ${#started[@]} -gt 0 ]]; then
    log "stopping services this test run started: ${started[*]}"
    "$runtime_dir/down.sh" "${started[@]}"
  fi
  rm -f "$started_file"
  exit "$rc"
}
trap cleanup INT TERM EXIT

log "lint: ruff + mypy"
.venv/bin/ruff check actors service tests migrations
.venv/bin/ruff format --check actors service tests migrations
.venv/bin/mypy

STARTED_FILE="$started_file" "$runtime_dir/up.sh"
# The test session starts its own app + daprd instance (app.sh, NAME=test) on test
# ports and stops it at the end; see tests/integration/conftest.py.
.venv/bin/pytest "$@"
