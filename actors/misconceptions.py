"""Class-wide misconceptions (issue 13): when at least ``misconception_share`` of a class,
and at least ``misconception_min_students`` students, hit the same ``error_type`` in the
same topic within ``misconception_window``, one ``class_misconception`` alert for the
class's teachers. Pure: the class actor (actors/class_actor.py) keeps the state.

Students' actors send :class:`ErrorSignal` s (a failed run with an error type, at most
one per student, topic and type per quarter of the window: actors/rules.py). The class
keeps, per (topic, error type), each student's newest signal: a signal sent twice, or a
student failing again, counts the student once. A lost signal is not possible by
design: it is an effect in the student's outbox, performed until the class actor took
it. The window is measured in event time (``occurred_at``), so a replay gives the same
alerts. An episode starts when the students in the window first reach the threshold
(one alert) and ends when they fall below it; the next crossing may raise a new alert,
which the alert table refuses while one for the class, topic and error type is unresolved.
"""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import BaseModel, Field

from actors.config import DomainConfig
from actors.effects import AlertCandidate, ErrorSignal, make_alert
from actors.evidence import rule_of
from actors.state import KEEP_UNKNOWN_FIELDS
from actors.vocabulary import iso_z


class Seen(BaseModel):
    model_config = KEEP_UNKNOWN_FIELDS
    occurred_at: datetime
    event_id: str


class ClassState(BaseModel):
    model_config = KEEP_UNKNOWN_FIELDS
    schema_version: int = 1
    class_id: str
    # "topic|error_type" -> student -> their newest signal inside the window
    signals: dict[str, dict[str, Seen]] = Field(default_factory=dict)
    # "topic|error_type" -> when the current episode began (its alert was raised)
    episodes: dict[str, datetime] = Field(default_factory=dict)
    outbox: list[dict[str, object]] = Field(default_factory=list)


def threshold(class_size: int, config: DomainConfig) -> int:
    """How many students of a class of ``class_size`` make a misconception."""
    return max(
        config.misconception_min_students, math.ceil(config.misconception_share * class_size)
    )


def record_signals(
    state: ClassState, signals: list[ErrorSignal], class_size: int, config: DomainConfig
) -> tuple[ClassState, list[AlertCandidate]]:
    """The class's state after ``signals`` and the alerts they raise (input unchanged)."""
    new = state.model_copy(deep=True)
    raised: list[AlertCandidate] = []
    for signal in sorted(signals, key=lambda s: (s.occurred_at, s.event_id)):
        rules = config.for_topic(signal.topic_id)
        needed = threshold(class_size, rules)
        key = f"{signal.topic_id}|{signal.error_type}"
        seen = new.signals.setdefault(key, {})
        before = seen.get(signal.student_id)
        if before is None or signal.occurred_at > before.occurred_at:
            seen[signal.student_id] = Seen(occurred_at=signal.occurred_at, event_id=signal.event_id)
        newest = max(s.occurred_at for s in seen.values())
        horizon = newest - rules.misconception_window
        for student in [sid for sid, s in seen.items() if s.occurred_at < horizon]:
            del seen[student]
        if len(seen) < needed:
            new.episodes.pop(key, None)
        elif key not in new.episodes:
            new.episodes[key] = newest
            raised.append(_alert(new.class_id, signal, seen, class_size, needed, rules))
    for key in [k for k, seen in new.signals.items() if not seen]:
        del new.signals[key]
    return new, raised


def _alert(
    class_id: str,
    signal: ErrorSignal,
    seen: dict[str, Seen],
    class_size: int,
    needed: int,
    config: DomainConfig,
) -> AlertCandidate:
    students = sorted(seen)
    first = min(s.occurred_at for s in seen.values())
    share = round(len(students) / class_size, 3) if class_size else None
    return make_alert(
        None,
        "class_misconception",
        signal.topic_id,
        "medium",
        {"error_type": signal.error_type, "students": students, "share": share},
        detected_at=signal.occurred_at,
        trigger=f"{signal.error_type}|{iso_z(first)}",
        trigger_event_id=signal.event_id,
        class_id=class_id,
        rule=rule_of("class_misconception", config),
        evidence={
            "event_ids": [seen[s].event_id for s in students],
            "last_activity": iso_z(signal.occurred_at),
            "error_type": signal.error_type,
            "students": students,
            "affected": len(students),
            "class_size": class_size,
            "needed": needed,
            "first_seen": iso_z(first),
            "last_seen": iso_z(max(s.occurred_at for s in seen.values())),
        },
    )


def forget_student(state: ClassState, student_id: str) -> tuple[ClassState, int]:
    """The class's state without ``student_id``'s signals (erasure), and how many went.
    An episode under way stays until the next signal of its kind finds it below the
    threshold: the alert already raised is the alert table's to scrub."""
    new = state.model_copy(deep=True)
    removed = 0
    for key in list(new.signals):
        if new.signals[key].pop(student_id, None) is not None:
            removed += 1
        if not new.signals[key]:
            del new.signals[key]
    return new, removed
