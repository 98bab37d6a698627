"""The Grafana dashboard queries only metrics that exist: the service's own, and daprd's
as a real daprd 1.18.2 exported them (tests/fixtures/daprd-1.18.2-metric-names.txt)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.unit.metric_names import EXTERNAL, daprd_names, metric_names, unknown

DASHBOARD = Path(__file__).parents[2] / "helm/progress-service/dashboards/progress-service.json"


def panels() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(DASHBOARD.read_text())["panels"]
    return result


def test_every_dashboard_query_names_an_exported_metric() -> None:
    for panel in panels():
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, f"{panel['title']}: no metric in {target['expr']!r}"
            assert not unknown(names), f"{panel['title']}: {unknown(names)} not exported"
            assert not names & set(EXTERNAL), f"{panel['title']}: needs an external exporter"


def test_the_actor_calls_panel_plots_daprd_actor_calls() -> None:
    [panel] = [p for p in panels() if "actor calls /s" in p["title"]]
    queries = [t["expr"] for t in panel["targets"]]
    assert any("dapr_http_client_completed_count" in q and 'method="PUT"' in q for q in queries), (
        queries
    )
    used = set().union(*(metric_names(q) for q in queries))
    assert used <= daprd_names()


def test_names_are_read_from_the_expression() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(x_seconds_bucket{a="b"}[5m])))'
        ' / ignoring(k) sum(rate(y_total{app_id="$app_id"}[$__rate_interval])) > 1e3'
    )
    assert metric_names(expr) == {"x_seconds_bucket", "y_total"}
    assert unknown({"progress_events_total", "dapr_no_such_metric"}) == {"dapr_no_such_metric"}
