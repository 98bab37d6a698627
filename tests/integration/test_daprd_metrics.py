"""daprd's own metrics, scraped from the test instance's daprd: every daprd metric the
Grafana dashboard and the chart's alerts read is one this daprd really exports once
events were applied and a reminder fired, and each is in the committed list
(tests/fixtures/daprd-1.18.2-metric-names.txt) that the unit tests check against.

CAPTURE_DAPRD_METRIC_NAMES=1 rewrites that list from this scrape (then review the diff).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import asyncpg
import httpx

from tests.chart_render import render
from tests.integration.stack import Ports
from tests.integration.support import Student, alerts, applied, eventually
from tests.unit.metric_names import DAPRD_NAMES_FILE, daprd_names, metric_names

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "helm/progress-service/dashboards/progress-service.json"
PRODUCTION = REPO / "helm/progress-service/values-production.yaml"


def used_daprd_names() -> set[str]:
    exprs = [
        target["expr"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel["targets"]
    ]
    rule = next(d for d in render(values_files=[PRODUCTION]) if d["kind"] == "PrometheusRule")
    exprs += [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    return {n for e in exprs for n in metric_names(e) if n.startswith("dapr_")}


CAPTURE_HEADER = """\
# Sample names daprd 1.18.2 (stable components) exported on its metrics port, scraped from
# the test instance's daprd after events were applied and a stuck reminder fired:
#   CAPTURE_DAPRD_METRIC_NAMES=1 pytest tests/integration/test_daprd_metrics.py
# (names only: the sample lines' text before "{" or " "). Read by tests/unit/metric_names.py.
"""


def sample_names(exposition: str) -> set[str]:
    return {
        line.split("{", 1)[0].split(" ", 1)[0]
        for line in exposition.splitlines()
        if line and not line.startswith("#")
    }


async def test_the_daprd_metrics_read_by_dashboard_and_alerts_are_exported(
    host_ports: Ports, api: httpx.AsyncClient, pg: asyncpg.Connection, student: Student
) -> None:
    # an actor call per event, then the stuck reminder fires (20 s in the test instance)
    await student.send("exercise.started", "python.loops", exercise_id="metrics-never-passed")
    await applied(api, student.id, student.published)

    async def stuck() -> bool | None:
        return any(r["kind"] == "stuck" for r in await alerts(pg, student.id)) or None

    await eventually(stuck, timeout=90, interval=1)
    async with httpx.AsyncClient(timeout=10) as client:
        # the actor host's daprd: the actor calls and reminders are its own
        response = await client.get(f"http://127.0.0.1:{host_ports.dapr_metrics}/metrics")
    assert response.status_code == 200
    exported = sample_names(response.text)
    if os.environ.get("CAPTURE_DAPRD_METRIC_NAMES"):
        DAPRD_NAMES_FILE.write_text(CAPTURE_HEADER + "".join(f"{n}\n" for n in sorted(exported)))
    used = used_daprd_names()
    assert {"dapr_http_client_completed_count", "dapr_runtime_actor_reminders_fired_total"} <= used
    assert used <= exported, f"not exported by daprd: {used - exported}"
    assert used <= daprd_names()
    assert 'method="PUT"' in response.text  # the actor calls the dashboard plots
