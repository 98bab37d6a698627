"""The actor's own metric (registered in the process-wide Prometheus registry)."""

from prometheus_client import Counter

ACTOR_ACTIVATIONS = Counter(
    "progress_actor_activations_total", "StudentProgressActor activations in this process"
)
