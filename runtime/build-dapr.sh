#!/usr/bin/env bash
# Build daprd (stable components), placement and scheduler at the pinned release into
# the cache ($PROGRESS_CACHE/dapr/<version>/). Does nothing when they are already there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"

out="$(dapr_bin_dir)"
if dapr_binaries_cached; then
  log "dapr $DAPR_VERSION binaries cached in $out"
  exit 0
fi
require_go
mkdir -p "$out"
# One build at a time (a second caller waits, then finds the binaries).
exec 9>"$out/.build.lock"
if ! flock -n 9; then
  log "another dapr build is running; waiting for it"
  flock 9
  [[ -x "$out/daprd" && -x "$out/placement" && -x "$out/scheduler" ]] && exit 0
fi
cd "$here/dapr-build"
export CGO_ENABLED=0
ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION"
start=$(date +%s)
log "building dapr $DAPR_VERSION (first time only; 11-14 min on 2 cores, docs/operations.md) into $out"
for cmd in placement scheduler daprd; do
  tags=""
  [[ "$cmd" == daprd ]] && tags="-tags stablecomponents"
  log "compiling $cmd ..."
  # -v prints each package as it is compiled: count them as progress.
  # shellcheck disable=SC2086
  # -mod=mod lets go record hashes of modules that dapr's go.sum does not list.
  go build -mod=mod $tags -trimpath -ldflags "$ldflags" -v -o "$out/$cmd.tmp" \
    "github.com/dapr/dapr/cmd/$cmd" 2>&1 \
    | awk -v c="$cmd" '
        /^go: downloading/ {d++; if (d % 50 == 0) {printf "  %s: %d modules downloaded\n", c, d; fflush()}; next}
        /^[a-zA-Z0-9._~\/-]+$/ {n++; if (n % 200 == 0) {printf "  %s: %d packages compiled\n", c, n; fflush()}; next}
        {print; fflush()}'
  test "${PIPESTATUS[0]}" -eq 0
  mv "$out/$cmd.tmp" "$out/$cmd"
done
log "dapr binaries ready in $out after $(( $(date +%s) - start )) s"
