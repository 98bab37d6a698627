#!/usr/bin/env bash
# Print the path of uv at the pinned version (UV_VERSION, versions.env): the uv on PATH
# when it is that version, else one installed by pip into a virtualenv of its own,
# $PROGRESS_CACHE/uv/<version> (created the first time). Nothing goes into the system's
# Python: Debian's is externally managed (PEP 668) and refuses `pip install --user`.
# Without the venv module (python3-venv on Debian), root installs it from Debian's
# packages; anyone else is told to.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

pinned() { [[ "$("$1" --version 2>/dev/null)" == "uv $UV_VERSION"* ]]; }

found="$(command -v uv || true)"
if [[ -n "$found" ]] && pinned "$found"; then
  echo "$found"
  exit 0
fi
dir="$PROGRESS_CACHE/uv/$UV_VERSION"
mkdir -p "$(dirname "$dir")"
# One installation at a time (a second caller waits, then finds it).
exec 9>"$dir.lock"
flock 9
if ! { [[ -x "$dir/bin/uv" ]] && pinned "$dir/bin/uv"; }; then
  log "installing uv $UV_VERSION into $dir (a virtualenv of its own)"
  rm -rf "$dir"
  if ! python3 -m venv "$dir" >/dev/null 2>&1; then
    rm -rf "$dir"
    [[ "$(id -u)" == 0 ]] ||
      die "python3 cannot create a virtualenv: install Debian's python3-venv (apt-get install python3-venv), then run this again"
    log "installing python3-venv from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$dir"
  fi
  "$dir/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
  pinned "$dir/bin/uv" || die "uv $UV_VERSION was not installed into $dir"
fi
echo "$dir/bin/uv"
