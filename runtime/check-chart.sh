#!/usr/bin/env bash
# Render the Helm chart (default and production values) and validate every manifest,
# and the ArgoCD Application, with kubeconform against Kubernetes and CRD schemas.
# helm and kubeconform are built from the Go module proxy at pinned versions
# (runtime/chart-tools.sh); the schemas are generated offline (runtime/chart_schemas.py);
# all cached. Extra manifest files given as arguments are validated too.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

schemas="$PROGRESS_CACHE/chart-schemas/k8s-$KUBERNETES_SCHEMA_VERSION-dapr-$DAPR_VERSION-v3"
tools="$("$runtime_dir/chart-tools.sh")"
mkdir -p "$PROGRESS_CACHE/chart-schemas"
exec 8>"$PROGRESS_CACHE/chart-schemas/.build.lock"
flock 8  # two first runs must not generate into the same directory
if [[ ! -f "$schemas/.complete" ]]; then
  log "generating Kubernetes $KUBERNETES_SCHEMA_VERSION and CRD schemas (first time only)"
  moddir() { go mod download -json "$1" | "$repo_dir/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'; }
  rm -rf "$schemas"
  "$repo_dir/.venv/bin/python" "$runtime_dir/chart_schemas.py" "$schemas" \
    "$(moddir "k8s.io/kubernetes@v$KUBERNETES_SCHEMA_VERSION")" \
    "$(moddir "github.com/dapr/dapr@v$DAPR_VERSION")" \
    "$(moddir "github.com/prometheus-operator/prometheus-operator@v$PROMETHEUS_OPERATOR_VERSION")" \
    "$(moddir "github.com/argoproj/argo-cd/v3@v$ARGOCD_VERSION")"
  touch "$schemas/.complete"
fi
flock -u 8

chart="$repo_dir/helm/progress-service"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$tools/helm" lint "$chart" -f "$chart/values-production.yaml" >/dev/null
"$tools/helm" template progress "$chart" --namespace progress >"$out/default.yaml"
"$tools/helm" template progress "$chart" --namespace progress \
  -f "$chart/values-production.yaml" >"$out/production.yaml"
"$tools/kubeconform" -strict -summary -output text \
  -schema-location "$schemas/{{ .ResourceKind }}-{{ .Group }}-{{ .ResourceAPIVersion }}.json" \
  "$out/default.yaml" "$out/production.yaml" "$repo_dir/deploy/argocd-application.yaml" "$@"
