"""Tunables of the domain rules. Filled from service settings; defaults are the
contract's values."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from actors.knowledge_tracing import DEFAULT_PARAMETER_SET, ParameterSet

DEFAULT_HELP_PHRASES: tuple[str, ...] = (
    "i'm stuck",
    "i am stuck",
    "im stuck",
    "i don't understand",
    "i do not understand",
    "i dont understand",
    "i give up",
    "i'm lost",
    "i am lost",
    "i'm confused",
    "i am confused",
    "no idea what",
)


@dataclass(frozen=True)
class DomainConfig:
    default_exercise_target: int = 5
    exercise_targets: dict[str, int] = field(default_factory=dict)
    dedupe_window: int = 512
    repeated_error_count: int = 3
    consecutive_failure_count: int = 5
    stuck_after: timedelta = timedelta(minutes=10)
    quiz_low_below: float = 50.0
    quiz_high_below: float = 25.0
    inactivity_after: timedelta = timedelta(days=3)
    help_phrases: tuple[str, ...] = DEFAULT_HELP_PHRASES
    # At most this many started-but-not-passed exercises are tracked per topic.
    max_pending_exercises: int = 50
    # Class-wide misconceptions (actors/misconceptions.py): at least this share of a
    # class, and at least this many students, hit the same error type in the same topic
    # within the window.
    misconception_share: float = 0.3
    misconception_min_students: int = 3
    misconception_window: timedelta = timedelta(hours=24)
    # Knowledge tracing (actors/knowledge_tracing.py, docs/rules.md): the BKT parameters
    # per topic, versioned — the curriculum's (config/curriculum.toml), and over them an
    # applied rule set's (service/rulesets/model.py).
    knowledge_tracing: ParameterSet = DEFAULT_PARAMETER_SET
    # wheel_spinning: at least this many observations in a topic while the probability of
    # knowing it, as shown, is below this (docs/rules.md).
    wheel_spinning_attempts: int = 10
    wheel_spinning_mastery: float = 0.95
    # The rule set's version, recorded on every alert (0: the settings' own thresholds).
    rules_version: int = 0
    # Per topic, thresholds that differ from the ones above (field name -> value), from
    # the applied rule set (service/rulesets): read through for_topic().
    topic_rules: dict[str, dict[str, Any]] = field(default_factory=dict)

    def exercise_target(self, topic_id: str) -> int:
        return self.exercise_targets.get(topic_id, self.default_exercise_target)

    def for_topic(self, topic_id: str | None) -> DomainConfig:
        """The thresholds that hold in ``topic_id`` (itself when none differ there)."""
        overrides = self.topic_rules.get(topic_id) if topic_id is not None else None
        if not overrides:
            return self
        cache: dict[str, DomainConfig] = self.__dict__.setdefault("_per_topic", {})
        found = cache.get(topic_id)  # type: ignore[arg-type]
        if found is None:
            found = replace(self, topic_rules={}, **overrides)
            cache[topic_id] = found  # type: ignore[index]
        return found
