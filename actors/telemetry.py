"""The actor's own metrics (registered in the process-wide Prometheus registry)."""

from prometheus_client import Counter, Gauge

ACTOR_ACTIVATIONS = Counter(
    "progress_actor_activations_total", "StudentProgressActor activations in this process"
)
STUDENTS_WITH_UNCONFIRMED_EFFECTS = Gauge(
    "progress_students_with_unconfirmed_effects",
    "Students whose saved effects (messages, reminder changes) are not yet confirmed",
)
EFFECT_RETRIES = Counter(
    "progress_effect_retries_total",
    "Failed attempts to perform a saved effect (each is retried after a pause)",
)
