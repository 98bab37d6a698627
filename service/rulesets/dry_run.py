"""The dry run of a rule set: the retained events of a class's students, or of every
student active in a time range, replayed through the pure rules (actors/replay.py) under
the rules in force and under the candidate; the difference per kind. Nothing live is
read but the event log and the rosters, nothing is written."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from actors.config import DomainConfig
from actors.effects import AlertCandidate, ErrorSignal
from actors.events import LearningEvent, PoisonEvent, parse_event
from actors.replay import compare, replay_classes, replay_student
from actors.vocabulary import ALERT_KINDS, iso_z

# Per dry run: it answers within the request (~0.15 ms per event here: read, parse, two
# replays), so a wider one is refused, counted before anything is read.
MAX_EVENTS = 20_000
LISTED = 50  # alerts listed per side; the counts cover all


def _summary(alert: AlertCandidate) -> dict[str, Any]:
    return {
        "student_id": alert.student_id,
        "class_id": alert.class_id,
        "kind": alert.kind,
        "topic_id": alert.topic_id,
        "severity": alert.severity,
        "detected_at": iso_z(alert.detected_at),
        "trigger_event_id": alert.trigger_event_id,
        "thresholds": (alert.rule or {}).get("thresholds"),
    }


def _replay_all(
    events: dict[str, list[LearningEvent]],
    classes: dict[str, dict[str, int]],
    config: DomainConfig,
    until: datetime,
) -> list[AlertCandidate]:
    raised: list[AlertCandidate] = []
    signals: list[ErrorSignal] = []
    for sid, mine in sorted(events.items()):
        raised += replay_student(sid, mine, config, until, signals)
    return raised + replay_classes(signals, classes, config)


def compare_replays(
    logged: dict[str, list[dict[str, Any]]],
    current: DomainConfig,
    candidate: DomainConfig,
    until: datetime,
    classes: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """The report of a dry run over ``logged`` (each student's ``{"type", "data"}``);
    ``classes``: per student their classes and sizes, for class misconceptions."""
    classes = classes or {}
    events: dict[str, list[LearningEvent]] = {}
    skipped = 0
    for sid, envelopes in logged.items():
        for envelope in envelopes:
            try:
                events.setdefault(sid, []).append(parse_event(envelope["type"], envelope["data"]))
            except PoisonEvent:  # logged by an older version with other rules of validity
                skipped += 1
    count = sum(len(v) for v in events.values())
    diff = compare(
        _replay_all(events, classes, current, until),
        _replay_all(events, classes, candidate, until),
    )
    added: dict[str, int] = {}
    removed: dict[str, int] = {}
    for a in diff.added:
        added[a.kind] = added.get(a.kind, 0) + 1
    for a in diff.removed:
        removed[a.kind] = removed.get(a.kind, 0) + 1
    return {
        "students": len(events),
        "events": count,
        "events_skipped": skipped,
        "kinds": [
            {
                "kind": kind,
                "raised_now": diff.raised_now.get(kind, 0),
                "raised_by_candidate": diff.raised_by_candidate.get(kind, 0),
                "added": added.get(kind, 0),
                "removed": removed.get(kind, 0),
            }
            for kind in ALERT_KINDS
        ],
        "added": [_summary(a) for a in diff.added[:LISTED]],
        "removed": [_summary(a) for a in diff.removed[:LISTED]],
    }


async def dry_run(
    logged: dict[str, list[dict[str, Any]]],
    current: DomainConfig,
    candidate: DomainConfig,
    until: datetime,
    classes: dict[str, dict[str, int]],
) -> dict[str, Any]:
    """:func:`compare_replays` in a worker thread: pure CPU, off the event loop."""
    return await asyncio.to_thread(compare_replays, logged, current, candidate, until, classes)
