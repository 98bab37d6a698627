"""Replays of learning events through the pure rules, for the dry run of a rule set
(service/rulesets): what alerts a stream of events raises under a configuration,
starting from no state, with the time-based rules fired as the events' clock passes
their deadlines. No I/O, nothing live is touched.

Alerts are keyed by what they are about (student, kind, topic) and the cause that
raised them (the triggering event, or the deadline), so the same detection under two
rule sets matches, and an alert's severity or thresholds may differ between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from actors.config import DomainConfig
from actors.effects import AlertCandidate, ErrorSignal, RaiseAlert, SignalErrors
from actors.events import LearningEvent
from actors.misconceptions import ClassState, record_signals
from actors.rules import WAKE_REMINDER, apply_events, fire_reminder
from actors.state import StudentState


def replay_student(
    student_id: str,
    events: Iterable[LearningEvent],
    config: DomainConfig,
    until: datetime,
    signals: list[ErrorSignal] | None = None,
) -> list[AlertCandidate]:
    """The alerts ``events`` (one student's, in delivery order) raise under ``config``;
    reminders fire when the next event's time, or ``until``, has passed them. The error
    signals the student would send their classes are added to ``signals``."""
    state = StudentState(student_id=student_id)
    raised: list[AlertCandidate] = []

    def fire_due(now: datetime) -> None:
        nonlocal state
        while state.wake_due is not None and state.wake_due <= now:
            state, effects = fire_reminder(state, WAKE_REMINDER, {}, state.wake_due, config)
            raised.extend(e.alert for e in effects if isinstance(e, RaiseAlert))

    for event in events:
        fire_due(event.occurred_at)
        # in place (the replay's state is its own) and without mastery (alerts only):
        # a copy and the mastery per event made it ~20x slower
        state, turn = apply_events(state, [event], config, in_place=True, progress=False)
        raised.extend(turn.alerts)
        if signals is not None:
            signals += [s for e in turn.effects if isinstance(e, SignalErrors) for s in e.signals]
    fire_due(until)
    return raised


def replay_classes(
    signals: list[ErrorSignal], classes: dict[str, dict[str, int]], config: DomainConfig
) -> list[AlertCandidate]:
    """The class misconceptions ``signals`` raise, each class from no state; ``classes``
    is, per student, their classes with each class's size."""
    per_class: dict[str, list[ErrorSignal]] = {}
    sizes: dict[str, int] = {}
    for signal in signals:
        for class_id, size in classes.get(signal.student_id, {}).items():
            per_class.setdefault(class_id, []).append(signal)
            sizes[class_id] = size
    raised: list[AlertCandidate] = []
    for class_id, mine in sorted(per_class.items()):
        _, alerts = record_signals(ClassState(class_id=class_id), mine, sizes[class_id], config)
        raised += alerts
    return raised


def alert_key(alert: AlertCandidate) -> tuple[str, str, str, str]:
    """What the alert is about and what caused it."""
    cause = alert.trigger_event_id or alert.detected_at.isoformat()
    return (alert.key, alert.kind, alert.topic_id or "", cause)


@dataclass(frozen=True)
class Difference:
    """Per kind, the alerts only the candidate raises and those only the current raises."""

    raised_now: dict[str, int]
    raised_by_candidate: dict[str, int]
    added: list[AlertCandidate]
    removed: list[AlertCandidate]


def compare(current: list[AlertCandidate], candidate: list[AlertCandidate]) -> Difference:
    now = {alert_key(a): a for a in current}
    then = {alert_key(a): a for a in candidate}

    def per_kind(alerts: Iterable[AlertCandidate]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for a in alerts:
            counts[a.kind] = counts.get(a.kind, 0) + 1
        return dict(sorted(counts.items()))

    return Difference(
        raised_now=per_kind(now.values()),
        raised_by_candidate=per_kind(then.values()),
        added=[a for k, a in sorted(then.items()) if k not in now],
        removed=[a for k, a in sorted(now.items()) if k not in then],
    )
