"""The Helm chart renders (default and production values) to manifests that pass
kubeconform against Kubernetes and Dapr/Prometheus/ArgoCD CRD schemas; a broken
manifest does not."""

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "runtime" / "check-chart.sh"


def run(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHECK), *extra], capture_output=True, text=True, timeout=900)


def test_chart_and_argocd_application_are_valid() -> None:
    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Invalid: 0, Errors: 0" in result.stdout


def test_a_misspelt_field_fails_validation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: r}\n"
        "spec:\n  policies:\n    retries:\n"
        "      x: {policy: exponential, initialInterval: 1s}\n  targets: {}\n"
    )
    result = run(str(bad))
    assert result.returncode != 0
    assert "initialInterval" in result.stdout
