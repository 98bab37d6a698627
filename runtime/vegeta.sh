#!/usr/bin/env bash
# Print the path of vegeta (VEGETA_VERSION, versions.env), the HTTP load generator of the
# mixed benchmark, built once from the Go module proxy into $PROGRESS_CACHE/vegeta/<v>.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dir="$PROGRESS_CACHE/vegeta/$VEGETA_VERSION"
if [[ ! -x "$dir/vegeta" ]]; then
  mkdir -p "$dir"
  exec 9>"$dir/.build.lock"
  flock 9  # two first runs must not build into the same folder at once
  if [[ ! -x "$dir/vegeta" ]]; then
    command -v go >/dev/null || die "vegeta is built with Go, which is not on PATH"
    log "building vegeta $VEGETA_VERSION into $dir (first time only)"
    GOBIN="$dir" GOFLAGS=-mod=mod go install "github.com/tsenart/vegeta/v12@v$VEGETA_VERSION" >&2
  fi
fi
echo "$dir/vegeta"
