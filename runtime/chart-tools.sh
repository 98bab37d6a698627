#!/usr/bin/env bash
# Print the directory holding helm and kubeconform, building them from the Go module proxy
# at the pinned versions the first time (cached under $PROGRESS_CACHE/chart-tools). Used by
# runtime/check-chart.sh and by the tests that render the chart (tests/chart_render.py).
# A lock keeps two first runs from building into the same directory at once.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

tools="$PROGRESS_CACHE/chart-tools/helm-$HELM_VERSION-kubeconform-$KUBECONFORM_VERSION"
mkdir -p "$PROGRESS_CACHE/chart-tools"
exec 9>"$PROGRESS_CACHE/chart-tools/.build.lock"
flock 9
if [[ ! -x "$tools/helm" || ! -x "$tools/kubeconform" ]]; then
  log "building helm $HELM_VERSION and kubeconform $KUBECONFORM_VERSION (first time only)"
  mkdir -p "$tools"
  GOBIN="$tools" CGO_ENABLED=0 go install "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" >&2
  GOBIN="$tools" CGO_ENABLED=0 go install "github.com/yannh/kubeconform/cmd/kubeconform@v$KUBECONFORM_VERSION" >&2
fi
echo "$tools"
