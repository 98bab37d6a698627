"""Render the Helm chart with `helm template`, for tests that check what values produce.

helm is the pinned build runtime/check-chart.sh validates with (runtime/chart-tools.sh
builds it the first time and prints where it lives).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "helm" / "progress-service"
CHART_TOOLS = REPO / "runtime" / "chart-tools.sh"


class RenderError(Exception):
    """helm template refused the values; the message is helm's."""


@lru_cache(maxsize=1)
def helm() -> Path:
    """The pinned helm binary (built on first use, a few minutes)."""
    out = subprocess.run(
        [str(CHART_TOOLS)], capture_output=True, text=True, timeout=1800, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"runtime/chart-tools.sh failed:\n{out.stderr}")
    return Path(out.stdout.strip()) / "helm"


def render_text(
    values: dict[str, Any] | None = None,
    *,
    set_values: Sequence[str] = (),
    values_files: Sequence[Path] = (),
    release: str = "progress",
    namespace: str = "progress",
) -> str:
    """The manifests `helm template` writes for these values: files first (-f), then the
    values dict (as one more -f), then each --set NAME=VALUE."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [str(helm()), "template", release, str(CHART), "--namespace", namespace]
        for file in values_files:
            args += ["-f", str(file)]
        if values is not None:
            extra = Path(tmp) / "values.json"
            extra.write_text(json.dumps(values))
            args += ["-f", str(extra)]
        for item in set_values:
            args += ["--set", item]
        out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    if out.returncode != 0:
        raise RenderError(out.stderr.strip())
    return out.stdout


def render(
    values: dict[str, Any] | None = None,
    *,
    set_values: Sequence[str] = (),
    values_files: Sequence[Path] = (),
) -> list[dict[str, Any]]:
    """The rendered manifests as parsed documents (empty documents dropped)."""
    text = render_text(values, set_values=set_values, values_files=values_files)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one manifest of this kind and name; KeyError naming what exists otherwise."""
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    present = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
    raise KeyError(f"no {kind}/{name} in the rendered chart; it has {present}")


# The chart's two Deployments of the one image (templates/deployment.yaml): the role's
# component label -> its values key and PROGRESS_ROLE.
ROLES = {"front-end": ("frontEnd", "api"), "actor-host": ("actorHost", "actors")}


def deployment(docs: list[dict[str, Any]], role: str, release: str = "progress") -> dict[str, Any]:
    """The Deployment of one role ("front-end" or "actor-host")."""
    return find(docs, "Deployment", f"{release}-{role}")


def pod_template(docs: list[dict[str, Any]], role: str) -> dict[str, Any]:
    """A role's pod template (metadata and spec)."""
    template: dict[str, Any] = deployment(docs, role)["spec"]["template"]
    return template


def app_container(docs: list[dict[str, Any]], role: str) -> dict[str, Any]:
    """The app container of a role's Deployment."""
    containers: list[dict[str, Any]] = pod_template(docs, role)["spec"]["containers"]
    return next(c for c in containers if c["name"] == "app")


def app_env(docs: list[dict[str, Any]], role: str) -> dict[str, Any]:
    """A role's app container's env: name -> value (a string) or valueFrom (a dict)."""
    env: dict[str, Any] = {}
    for item in app_container(docs, role)["env"]:
        if item["name"] in env:
            raise AssertionError(f"{item['name']} is set twice in the app's env")
        env[item["name"]] = item["value"] if "value" in item else item["valueFrom"]
    return env


def component_metadata(component: dict[str, Any]) -> dict[str, Any]:
    """A Dapr Component's metadata: name -> value, or the secretKeyRef dict."""
    return {
        item["name"]: item["value"] if "value" in item else {"secretKeyRef": item["secretKeyRef"]}
        for item in component["spec"]["metadata"]
    }


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels and matchExpressions, or a
    Service's plain map) selects an object with these labels."""
    plain = "matchLabels" not in selector and "matchExpressions" not in selector
    match_labels: dict[str, str] = selector if plain else selector.get("matchLabels", {})
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expression in [] if plain else selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True
