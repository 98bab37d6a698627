"""The chart's PrometheusRule: the alerts an on-call engineer needs, each with its
runbook section in docs/operations.md, each reading only metrics that exist (the app's,
daprd's as captured from a real daprd, or a named external exporter's); thresholds come
from values; PodMonitor and NetworkPolicy let daprd's metrics be scraped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.chart_render import find, render
from tests.unit.metric_names import EXTERNAL, metric_names, unknown

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = REPO / "docs" / "operations.md"
PRODUCTION = REPO / "helm" / "progress-service" / "values-production.yaml"
ALERTS = {
    "ProgressConsumerLagGrowing",
    "ProgressDeadLettersHigh",
    "ProgressEventP95Slow",
    "ProgressActorCallErrors",
    "ProgressNoEventsProcessed",
    "ProgressPodRestarting",
}


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(slug)
    return found


def rules(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    return {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}


def kinds(docs: list[dict[str, Any]]) -> set[str]:
    return {d["kind"] for d in docs}


def test_production_values_render_every_alert_with_its_runbook_section() -> None:
    alerts = rules(render(values_files=[PRODUCTION]))
    assert set(alerts) == ALERTS
    sections = anchors(OPERATIONS.read_text())
    for name, rule in alerts.items():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith("docs/operations.md#"), url
        assert url.split("#", 1)[1] in sections, f"{name}: no section {url} in operations.md"
        assert rule["annotations"]["summary"] and rule["labels"]["severity"]


def test_every_alert_reads_only_metrics_that_exist() -> None:
    for name, rule in rules(render(values_files=[PRODUCTION])).items():
        names = metric_names(rule["expr"])
        assert names, f"{name}: no metric in {rule['expr']!r}"
        assert not unknown(names), f"{name}: {unknown(names)} exported by nobody"


def test_the_external_exporters_are_named_in_the_runbook_page() -> None:
    text = OPERATIONS.read_text()
    for metric, exporter in EXTERNAL.items():
        assert metric in text and exporter in text


def test_without_kafka_exporter_no_alert_reads_its_metrics() -> None:
    alerts = rules(
        render({"serviceMonitor": {"enabled": True}, "prometheusRule": {"kafkaExporter": False}})
    )
    assert set(alerts) == ALERTS - {"ProgressConsumerLagGrowing", "ProgressNoEventsProcessed"}
    for rule in alerts.values():
        assert not {n for n in metric_names(rule["expr"]) if n.startswith("kafka_")}


def test_thresholds_and_names_come_from_values() -> None:
    docs = render(
        {
            "serviceMonitor": {"enabled": True},
            "dapr": {"appId": "progress-eu"},
            "kafka": {"topics": {"learning": "l.ev", "deadLetter": "dl.ev"}},
            "prometheusRule": {
                "runbookBaseUrl": "https://git.example/ops.md",
                "consumerLag": {"threshold": 777, "for": "7m"},
                "deadLetters": {"perMinute": 33, "for": "3m"},
                "eventP95Seconds": {"threshold": 0.25, "for": "4m"},
                "actorCallErrors": {"ratio": 0.05, "for": "6m"},
                "noEventsProcessed": {"for": "9m"},
                "podRestarts": {"threshold": 5, "window": "1h"},
            },
        }
    )
    alerts = rules(docs)
    lag = alerts["ProgressConsumerLagGrowing"]
    assert "> 777" in lag["expr"] and lag["for"] == "7m"
    assert 'consumergroup="progress-eu"' in lag["expr"] and "l.ev|" in lag["expr"]
    dead = alerts["ProgressDeadLettersHigh"]
    assert dead["expr"].count("> 33") == 2 and 'topic="dl.ev"' in dead["expr"]
    assert dead["for"] == "3m"
    p95 = alerts["ProgressEventP95Slow"]
    assert p95["expr"].endswith("> 0.25") and p95["for"] == "4m"
    errors = alerts["ProgressActorCallErrors"]
    assert errors["expr"].endswith("> 0.05") and 'app_id="progress-eu"' in errors["expr"]
    assert "[9m]" in alerts["ProgressNoEventsProcessed"]["expr"]
    restarts = alerts["ProgressPodRestarting"]
    assert "[1h]" in restarts["expr"] and restarts["expr"].endswith(">= 5")
    assert (
        lag["annotations"]["runbook_url"] == "https://git.example/ops.md#progressconsumerlaggrowing"
    )


def test_monitoring_objects_follow_the_service_monitor_switch() -> None:
    assert not kinds(render()) & {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    on = kinds(render({"serviceMonitor": {"enabled": True}}))
    assert {"ServiceMonitor", "PodMonitor", "PrometheusRule"} <= on
    off = kinds(
        render(
            {
                "serviceMonitor": {"enabled": True},
                "podMonitor": {"enabled": False},
                "prometheusRule": {"enabled": False},
            }
        )
    )
    assert "ServiceMonitor" in off and not off & {"PodMonitor", "PrometheusRule"}
    alone = kinds(render({"prometheusRule": {"enabled": True}}))
    assert "PrometheusRule" in alone and "ServiceMonitor" not in alone


def test_daprd_metrics_are_scraped_and_admitted() -> None:
    docs = render(
        {
            "serviceMonitor": {"enabled": True, "labels": {"release": "kps"}},
            "dapr": {"metricsPort": 9191},
            "networkPolicy": {"monitoringNamespaces": ["observability"]},
        }
    )
    monitor = find(docs, "PodMonitor", "progress-daprd")
    assert monitor["metadata"]["labels"]["release"] == "kps"
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "dapr-metrics"  # the port name Dapr's injector gives daprd
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["dapr.io/metrics-port"] == "9191"
    assert annotations["dapr.io/enable-metrics"] == "true"

    ingress = find(docs, "NetworkPolicy", "progress")["spec"]["ingress"]

    def ports_from_namespace(namespace: str) -> set[int]:
        return {
            p["port"]
            for rule in ingress
            for peer in rule["from"]
            if peer.get("namespaceSelector", {})
            .get("matchLabels", {})
            .get("kubernetes.io/metadata.name")
            == namespace
            for p in rule.get("ports", [])
        }

    assert ports_from_namespace("observability") == {8000, 9191}
    assert ports_from_namespace("gateway") == {8000}
    replicas = [r for r in ingress if any("podSelector" in peer for peer in r["from"])]
    assert [p["port"] for r in replicas for p in r["ports"]] == [50002]


def test_the_readiness_probe_is_ready_and_liveness_healthz() -> None:
    deployment = next(d for d in render() if d["kind"] == "Deployment")
    [app] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "app"]
    assert app["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
