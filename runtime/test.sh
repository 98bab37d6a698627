#!/usr/bin/env bash
# make test (after `make lint`): unit and integration tests against the real stack.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_dir"
# The machine tools, and the browser the console's browser tests drive (installed here
# as root on Debian when missing; see runtime/preflight.sh).
PREFLIGHT_BROWSER=1 "$runtime_dir/preflight.sh"
# The test session starts the backing services that are not running (runtime/up.sh)
# and its own app + daprd instance on test ports, and stops, by PID, only what it
# started: see tests/integration/stack.py.
exec .venv/bin/pytest "$@"
