"""The metric names a PromQL expression reads, and where each may come from: the app's
own collectors, daprd (the names a real daprd 1.18.2 exported, captured in
tests/fixtures/daprd-1.18.2-metric-names.txt), or a named external exporter. Shared by
the dashboard and alert-rule tests."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import REGISTRY

import service.metrics  # noqa: F401  (registers the collectors)

DAPRD_NAMES_FILE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "daprd-1.18.2-metric-names.txt"
)
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")

# Exporters the docs tell operators to install (docs/operations.md, "Metrics on
# Kubernetes and the network policy"): metric name -> exporter.
EXTERNAL = {
    "kafka_consumergroup_lag": "kafka-exporter",
    "kafka_topic_partition_current_offset": "kafka-exporter",
    "kube_pod_container_status_restarts_total": "kube-state-metrics",
}

_FUNCTIONS = {
    "abs", "absent", "avg", "avg_over_time", "bottomk", "ceil", "clamp_max", "clamp_min",
    "count", "count_over_time", "delta", "deriv", "floor", "group", "histogram_quantile",
    "idelta", "increase", "irate", "label_replace", "max", "max_over_time", "min",
    "min_over_time", "quantile", "rate", "round", "scalar", "sort", "sort_desc",
    "stddev", "sum", "sum_over_time", "time", "topk", "vector",
}  # fmt: skip
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}


def metric_names(expr: str) -> set[str]:
    """Identifiers of an expression that name series: strings, label matchers, grouping
    clauses, range and subquery brackets, functions and keywords taken out."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\$\w+", "", text)  # Grafana variables
    text = re.sub(r"\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b", "", text)  # numbers
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text))
    return names - _FUNCTIONS - _KEYWORDS


def app_families() -> set[str]:
    """The app registry's metric families (a labelled family has no samples until used,
    so names are matched against the family: progress_events for progress_events_total)."""
    return {metric.name for metric in REGISTRY.collect()}


def daprd_names() -> set[str]:
    """Sample names as the real daprd exported them (exact: _bucket, _count, _sum)."""
    lines = DAPRD_NAMES_FILE.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def unknown(names: set[str]) -> set[str]:
    """The names nobody exports: not the app's, not daprd's, not a named exporter's."""
    families, daprd = app_families(), daprd_names()
    return {
        n
        for n in names
        if n not in daprd and n not in EXTERNAL and n not in families and _base(n) not in families
    }
