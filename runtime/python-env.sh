#!/usr/bin/env bash
# Create or update the project virtualenv (.venv) from requirements.lock (hashes
# pinned). Re-syncs only when the lock changed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$repo_dir"
stamp=".venv/.lock-sha"
want="$(sha256sum requirements.lock | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then exit 0; fi
if ! command -v uv >/dev/null; then
  log "installing uv (Python package installer)"
  python3 -m pip install -q --user "uv==0.13.9" 2>/dev/null || python3 -m pip install -q "uv==0.13.9"
  export PATH="$HOME/.local/bin:$PATH"
fi
[[ -x .venv/bin/python ]] || UV_PYTHON_DOWNLOADS=never uv venv -q --python python3.11 .venv
log "installing Python dependencies from requirements.lock"
UV_PYTHON_DOWNLOADS=never uv pip sync -q --python .venv/bin/python --require-hashes requirements.lock
echo "$want" >"$stamp"
