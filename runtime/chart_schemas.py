"""Build kubeconform JSON schemas, offline, from sources fetched as Go modules:

- Kubernetes kinds from k8s.io/kubernetes api/openapi-spec/v3 (one file per kind),
- Dapr CRDs from github.com/dapr/dapr charts/dapr/crds,
- ServiceMonitor, PodMonitor and PrometheusRule from prometheus-operator, Application
  from argo-cd.

Usage: chart_schemas.py OUT_DIR K8S_DIR DAPR_DIR PROMOP_DIR ARGOCD_DIR
Files are named <kind>-<group>-<version>.json (kubeconform -schema-location template
"{{ .ResourceKind }}-{{ .Group }}-{{ .ResourceAPIVersion }}.json"). Objects with declared
properties get additionalProperties: false, so a misspelt field fails validation.
"""

import json
import sys
from pathlib import Path
from typing import Any

import yaml

WANTED = {
    ("", "v1"): ["Service", "ConfigMap", "Secret", "ServiceAccount"],
    ("apps", "v1"): ["Deployment"],
    ("batch", "v1"): ["Job"],
    ("autoscaling", "v2"): ["HorizontalPodAutoscaler"],
    ("policy", "v1"): ["PodDisruptionBudget"],
    ("networking.k8s.io", "v1"): ["NetworkPolicy"],
}
# prometheus-operator CRD files (monitoring.coreos.com_<name>.yaml) the chart renders
PROMETHEUS_OPERATOR_KINDS = ("servicemonitors", "podmonitors", "prometheusrules")


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                v.replace("#/components/schemas/", "#/definitions/")
                if k == "$ref"
                else _rewrite_refs(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def kubernetes(out: Path, spec_dir: Path) -> int:
    written = 0
    for (group, version), kinds in WANTED.items():
        name = f"apis__{group}__{version}_openapi.json" if group else f"api__{version}_openapi.json"
        schemas = json.loads((spec_dir / name).read_text())["components"]["schemas"]
        definitions = _strict(_rewrite_refs(schemas))
        for key, schema in schemas.items():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                if (gvk["group"], gvk["version"]) == (group, version) and gvk["kind"] in kinds:
                    doc = {"$ref": f"#/definitions/{key}", "definitions": definitions}
                    # kubeconform's .Group for a core kind ("apiVersion: v1") is "v1"
                    path = out / f"{gvk['kind'].lower()}-{group or version}-{version}.json"

                    path.write_text(json.dumps(doc))
                    written += 1
    return written


def crds(out: Path, files: list[Path]) -> int:
    written = 0
    for file in files:
        for crd in yaml.safe_load_all(file.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version.get("schema", {}).get("openAPIV3Schema")
                if schema is None:
                    continue
                path = out / f"{kind.lower()}-{group}-{version['name']}.json"
                path.write_text(json.dumps(_strict(schema)))
                written += 1
    return written


def main() -> None:
    out, k8s, dapr, promop, argocd = (Path(a) for a in sys.argv[1:6])
    out.mkdir(parents=True, exist_ok=True)
    n = kubernetes(out, k8s / "api" / "openapi-spec" / "v3")
    n += crds(out, sorted((dapr / "charts" / "dapr" / "crds").glob("*.yaml")))
    promop_crds = promop / "example" / "prometheus-operator-crd"
    n += crds(
        out,
        [promop_crds / f"monitoring.coreos.com_{kind}.yaml" for kind in PROMETHEUS_OPERATOR_KINDS],
    )
    n += crds(out, [argocd / "manifests" / "crds" / "application-crd.yaml"])
    sys.stderr.write(f"wrote {n} schemas to {out}\n")


if __name__ == "__main__":
    main()
