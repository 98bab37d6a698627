#!/usr/bin/env bash
# Create or update the project virtualenv (.venv) from requirements.lock (hashes
# pinned). Re-syncs only when the lock changed. uv (pinned) comes from runtime/uv.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_dir"
stamp=".venv/.lock-sha"
want="$(sha256sum requirements.lock | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then exit 0; fi
uv="$("$runtime_dir/uv.sh")"
[[ -x .venv/bin/python ]] || UV_PYTHON_DOWNLOADS=never "$uv" venv -q --python python3.11 .venv
log "installing Python dependencies from requirements.lock"
UV_PYTHON_DOWNLOADS=never "$uv" pip sync -q --python .venv/bin/python --require-hashes requirements.lock
echo "$want" >"$stamp"
