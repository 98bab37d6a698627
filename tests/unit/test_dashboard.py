"""The Grafana dashboard queries only metrics the service (or daprd) exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import service.metrics  # noqa: F401  (registers the collectors)

DASHBOARD = Path(__file__).parents[2] / "helm/progress-service/dashboards/progress-service.json"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def exported() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        names.add(metric.name)
        for sample in metric.samples:
            names.add(sample.name)
    return names


def test_every_dashboard_query_names_an_exported_metric() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    ours = exported()
    for panel in panels:
        for target in panel["targets"]:
            for name in re.findall(r"\b(progress_[a-z_]+)", target["expr"]):
                base = name
                for suffix in SUFFIXES:
                    base = base.removesuffix(suffix)
                assert name in ours or base in ours, f"{panel['title']}: {name} is not exported"
