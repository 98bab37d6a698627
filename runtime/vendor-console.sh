#!/usr/bin/env bash
# Vendor the console's chart library into service/frontend/console/static/vendor/ (issue 22).
#
# The console serves its JavaScript from the repository: a clone needs nothing at run
# time and no page loads anything from another host. This script is how the vendored
# files were produced, and how to produce them again (or for a new version: change
# UPLOT_VERSION, run it once with UPLOT_SHA256= empty to see the tarball's digest, check
# the package, pin the digest, run it again, commit the files).
#
# `npm pack` fetches the package tarball from npm's configured registry and checks it
# against the registry's integrity digest; the sha256 below pins the exact tarball, so
# a registry that served other bytes for this version stops the script.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

UPLOT_VERSION="${UPLOT_VERSION:-1.6.32}"
UPLOT_SHA256="${UPLOT_SHA256-4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d}"
vendor_dir="$repo_dir/service/frontend/console/static/vendor"

command -v npm >/dev/null || die "npm is needed to fetch the package (apt-get install npm)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "npm pack uplot@$UPLOT_VERSION"
(cd "$work" && npm pack "uplot@$UPLOT_VERSION" --silent >/dev/null)
tarball="$work/uplot-$UPLOT_VERSION.tgz"
[[ -f "$tarball" ]] || die "npm pack did not write $tarball"
digest="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [[ "$digest" != "$UPLOT_SHA256" ]]; then
  die "uplot-$UPLOT_VERSION.tgz has sha256 $digest, expected ${UPLOT_SHA256:-(none pinned)}"
fi

tar -xzf "$tarball" -C "$work" package/LICENSE package/dist/uPlot.iife.min.js package/dist/uPlot.min.css
mkdir -p "$vendor_dir"
install -m 0644 "$work/package/dist/uPlot.iife.min.js" "$vendor_dir/uPlot.iife.min.js"
install -m 0644 "$work/package/dist/uPlot.min.css" "$vendor_dir/uPlot.min.css"
install -m 0644 "$work/package/LICENSE" "$vendor_dir/uPlot.LICENSE"
log "vendored uplot $UPLOT_VERSION (sha256 $digest) into ${vendor_dir#"$repo_dir"/}"
