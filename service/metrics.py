"""Prometheus collectors, all in one place (served on GET /metrics).

- ``progress_events_total{type, outcome}``: inbound deliveries by event type and outcome
  (applied, duplicate, poison, retried); unknown types are labelled ``invalid``.
- ``progress_event_duration_seconds{type}``: delivery received -> actor done (state
  saved, effects performed), for events that reached the actor.
- ``progress_struggles_raised_total{kind}``: new alerts written and published.
- ``progress_alerts_acknowledged_total{kind}``, ``progress_alerts_resolved_total{kind,
  reason}`` (reason: addressed, not_useful) and
  ``progress_alert_acknowledge_seconds{kind}`` (insertion to acknowledgement): the
  teachers' feedback on the rules, as ``GET /rules/stats`` reports it from the table.
- ``progress_alerts_open{kind}``: unresolved (open or acknowledged) alerts, read from the
  alert table at scrape time.
- ``progress_http_request_duration_seconds{method, route, status}``: API requests, by
  route template (never the raw path, so ids do not create series).
- ``progress_digest_deliveries_total{channel, outcome}``: teachers' digests by channel
  (email, webhook) and outcome (sent, retried, failed, empty, skipped), counted by the
  replica that tried (service/frontend/digests/scheduler.py).
- ``progress_actor_activations_total``: StudentProgressActor activations in this process
  (defined in actors/telemetry.py, where the actor increments it).
"""

from prometheus_client import Counter, Gauge, Histogram

from actors.telemetry import ACTOR_ACTIVATIONS

EVENTS = Counter("progress_events_total", "Inbound events by type and outcome", ["type", "outcome"])
XAPI_STATEMENTS = Counter(
    "progress_xapi_statements_total",
    "xAPI statements received (docs/xapi.md): mapped to an event, ignored (no rule covers "
    "them), duplicate (the id was received before with the same content), conflict, refused",
    ["outcome"],
)
EVENT_DURATION = Histogram(
    "progress_event_duration_seconds",
    "Event processing time, delivery to actor done",
    ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STRUGGLES_RAISED = Counter(
    "progress_struggles_raised_total", "Struggle alerts raised, by kind", ["kind"]
)
ALERTS_ACKNOWLEDGED = Counter(
    "progress_alerts_acknowledged_total", "Struggle alerts acknowledged, by kind", ["kind"]
)
ALERTS_RESOLVED = Counter(
    "progress_alerts_resolved_total",
    "Struggle alerts resolved, by kind and reason (addressed, not_useful)",
    ["kind", "reason"],
)
ACKNOWLEDGE_SECONDS = Histogram(
    "progress_alert_acknowledge_seconds",
    "Time from an alert's insertion to its acknowledgement",
    ["kind"],
    buckets=(60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400),
)
ALERTS_OPEN = Gauge("progress_alerts_open", "Unresolved struggle alerts, by kind", ["kind"])
HTTP_DURATION = Histogram(
    "progress_http_request_duration_seconds",
    "HTTP API request duration",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
DIGEST_DELIVERIES = Counter(
    "progress_digest_deliveries_total",
    "Teachers' digest delivery attempts, by channel and outcome",
    ["channel", "outcome"],
)

__all__ = [
    "ACTOR_ACTIVATIONS",
    "ALERTS_OPEN",
    "DIGEST_DELIVERIES",
    "EVENTS",
    "EVENT_DURATION",
    "HTTP_DURATION",
    "STRUGGLES_RAISED",
]
