"""Prometheus collectors, all in one place.

- ``progress_events_total{type, outcome}``: inbound deliveries by event type and
  outcome (applied, duplicate, poison, retried).
- ``progress_struggles_raised_total{kind}``: new alerts written and published.
"""

from prometheus_client import Counter

EVENTS = Counter("progress_events_total", "Inbound events by type and outcome", ["type", "outcome"])
STRUGGLES_RAISED = Counter(
    "progress_struggles_raised_total", "Struggle alerts raised, by kind", ["kind"]
)
