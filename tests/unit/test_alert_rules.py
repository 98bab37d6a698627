"""The chart's PrometheusRule: the alerts an on-call engineer needs, each with its
runbook section in docs/operations.md, each reading only metrics that exist (the app's,
daprd's as captured from a real daprd, or a named external exporter's) from the role that
exports them; thresholds come from values; PodMonitor and each role's NetworkPolicy let
daprd's metrics be scraped, and the NetworkPolicies let the sidecars reach each other."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.chart_render import ROLES, find, pod_template, render, selects
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
    # the intake's metrics are the actor host's (its headless Service's `service` label)
    for alert in ("ProgressDeadLettersHigh", "ProgressEventP95Slow", "ProgressNoEventsProcessed"):
        assert 'service="progress-actor-host"' in alerts[alert]["expr"], alert
    assert (
        lag["annotations"]["runbook_url"] == "https://git.example/ops.md#progressconsumerlaggrowing"
    )


def test_pod_restarts_are_watched_in_both_roles() -> None:
    expr = rules(render({"serviceMonitor": {"enabled": True}}))["ProgressPodRestarting"]["expr"]
    [pattern] = re.findall(r'pod=~"([^"]+)"', expr)
    for pod in ("progress-front-end-7d9f8c6b54-x2v9q", "progress-actor-host-5c7b9d8f6-abcde"):
        assert re.fullmatch(pattern, pod), pod
    assert not re.fullmatch(pattern, "progress-migrate-3-abcde")
    assert not re.fullmatch(pattern, "progress-other-7d9f8c6b54-x2v9q")


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
    for role in ROLES:
        assert selects(monitor["spec"]["selector"], pod_template(docs, role)["metadata"]["labels"])
        annotations = pod_template(docs, role)["metadata"]["annotations"]
        assert annotations["dapr.io/metrics-port"] == "9191"
        assert annotations["dapr.io/enable-metrics"] == "true"
        ingress = find(docs, "NetworkPolicy", f"progress-{role}")["spec"]["ingress"]
        assert ports_from_namespace(ingress, "observability") == {8000, 9191}


def ports_from_namespace(ingress: list[dict[str, Any]], namespace: str) -> set[int]:
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


def test_each_role_admits_what_it_serves() -> None:
    """The front end: the gateway's HTTP API, Prometheus, the control plane, the sidecars.
    The actor host: no API; Prometheus, the control plane, and the sidecars of both roles
    on daprd's internal gRPC port (the front end's calls its actors; actor host replicas
    call each other's actors). Not the migrations Job's pod."""
    docs = render({"networkPolicy": {"ingressNamespaces": ["gw-a", "gw-b"]}})
    job = next(d for d in docs if d["kind"] == "Job")
    job_labels = job["spec"]["template"]["metadata"]["labels"]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    assert {p["metadata"]["name"] for p in policies} == {f"progress-{r}" for r in ROLES}
    for role in ROLES:
        policy = find(docs, "NetworkPolicy", f"progress-{role}")["spec"]
        for other in ROLES:
            labels = pod_template(docs, other)["metadata"]["labels"]
            assert selects(policy["podSelector"], labels) == (other == role)
        ingress = policy["ingress"]
        api = {8000} if role == "front-end" else set()
        assert ports_from_namespace(ingress, "gw-a") == ports_from_namespace(ingress, "gw-b") == api
        assert ports_from_namespace(ingress, "monitoring") == {8000, 9090}
        assert any(
            peer.get("namespaceSelector", {}).get("matchLabels")
            == {"kubernetes.io/metadata.name": "dapr-system"}
            for rule in ingress
            for peer in rule["from"]
        )
        sidecars = [r for r in ingress if any("podSelector" in peer for peer in r["from"])]
        assert [p["port"] for r in sidecars for p in r["ports"]] == [50002]
        [peer] = [peer for r in sidecars for peer in r["from"]]
        for other in ROLES:
            labels = pod_template(docs, other)["metadata"]["labels"]
            assert selects(peer["podSelector"], labels), (role, other)
        assert not selects(peer["podSelector"], job_labels)


def test_the_readiness_probe_is_ready_and_liveness_healthz() -> None:
    docs = render()
    for role in ROLES:
        [app] = [c for c in pod_template(docs, role)["spec"]["containers"] if c["name"] == "app"]
        assert app["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
