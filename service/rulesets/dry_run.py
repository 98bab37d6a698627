"""The dry run of a rule set: the retained events of a class's students, or of every
student active in a time range, replayed through the pure rules (actors/replay.py) under
the rules in force and under the candidate; the difference per kind. Nothing live is
read but the event log and the rosters, nothing is written.

Students are replayed in chunks (:func:`replay_chunk`, pure and picklable, so a
background dry run can run it in a worker process) and the chunks' results are folded
into one report (:class:`DryRunTally`). A student's alerts are keyed by the student, so
chunks never share one; class misconceptions need every student's error signals and are
replayed once, at the end.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from actors.config import DomainConfig
from actors.effects import AlertCandidate, ErrorSignal
from actors.events import LearningEvent, PoisonEvent, parse_event
from actors.replay import Difference, compare, replay_classes, replay_student
from actors.vocabulary import ALERT_KINDS, iso_z

# Per dry run answered within the request (~0.15 ms per event here: read, parse, two
# replays); a wider one is refused, counted before anything is read: it runs as a
# background dry run (service/rulesets/jobs.py, worker.py).
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


def in_chunks(counts: dict[str, int], max_events: int) -> list[list[str]]:
    """The students of ``counts`` (their events each) in order, cut into chunks of at
    most ``max_events`` events; a student with more has a chunk of their own."""
    chunks: list[list[str]] = []
    size = max_events  # the first student starts a chunk
    for sid in sorted(counts):
        if size + counts[sid] > max_events:
            chunks.append([])
            size = 0
        chunks[-1].append(sid)
        size += counts[sid]
    return chunks


def of_class(classes: dict[str, dict[str, int]], class_id: str | None) -> dict[str, dict[str, int]]:
    """``classes`` (per student their classes and sizes) narrowed to ``class_id`` — a dry
    run of one class replays that class's misconceptions only; None: all of them."""
    if class_id is None:
        return classes
    return {sid: {c: n for c, n in mine.items() if c == class_id} for sid, mine in classes.items()}


@dataclass
class ChunkReplay:
    """What some students' events raise under both rule sets, and the error signals
    they would send their classes under each."""

    students: int
    events: int
    skipped: int
    now: list[AlertCandidate]
    candidate: list[AlertCandidate]
    signals_now: list[ErrorSignal]
    signals_candidate: list[ErrorSignal]


def _replay(
    events: dict[str, list[LearningEvent]], config: DomainConfig, until: datetime
) -> tuple[list[AlertCandidate], list[ErrorSignal]]:
    raised: list[AlertCandidate] = []
    signals: list[ErrorSignal] = []
    for sid, mine in sorted(events.items()):
        raised += replay_student(sid, mine, config, until, signals)
    return raised, signals


def replay_chunk(
    logged: dict[str, list[dict[str, Any]]],
    current: DomainConfig,
    candidate: DomainConfig,
    until: datetime,
) -> ChunkReplay:
    """``logged`` (each student's ``{"type", "data"}``, in delivery order; ``data`` an
    object or its JSON text) parsed and replayed under ``current`` and ``candidate``."""
    events: dict[str, list[LearningEvent]] = {}
    skipped = 0
    for sid, envelopes in logged.items():
        for envelope in envelopes:
            data = envelope["data"]
            try:
                body = json.loads(data) if isinstance(data, str) else data
                events.setdefault(sid, []).append(parse_event(envelope["type"], body))
            except PoisonEvent:  # logged by an older version with other rules of validity
                skipped += 1
    now, signals_now = _replay(events, current, until)
    then, signals_then = _replay(events, candidate, until)
    return ChunkReplay(
        students=len(events),
        events=sum(len(v) for v in events.values()),
        skipped=skipped,
        now=now,
        candidate=then,
        signals_now=signals_now,
        signals_candidate=signals_then,
    )


@dataclass
class DryRunTally:
    """The report, added up chunk by chunk; :meth:`report` adds the classes' part."""

    students: int = 0
    events: int = 0
    skipped: int = 0
    raised_now: dict[str, int] = field(default_factory=dict)
    raised_by_candidate: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    added_listed: list[AlertCandidate] = field(default_factory=list)
    removed_listed: list[AlertCandidate] = field(default_factory=list)
    signals_now: list[ErrorSignal] = field(default_factory=list)
    signals_candidate: list[ErrorSignal] = field(default_factory=list)

    def add(self, chunk: ChunkReplay) -> None:
        self.students += chunk.students
        self.events += chunk.events
        self.skipped += chunk.skipped
        self.signals_now += chunk.signals_now
        self.signals_candidate += chunk.signals_candidate
        self._count(compare(chunk.now, chunk.candidate))

    def _count(self, diff: Difference) -> None:
        for into, counts in (
            (self.raised_now, diff.raised_now),
            (self.raised_by_candidate, diff.raised_by_candidate),
        ):
            for kind, n in counts.items():
                into[kind] = into.get(kind, 0) + n
        for into, alerts in ((self.added, diff.added), (self.removed, diff.removed)):
            for a in alerts:
                into[a.kind] = into.get(a.kind, 0) + 1
        self.added_listed += diff.added[: LISTED - len(self.added_listed)]
        self.removed_listed += diff.removed[: LISTED - len(self.removed_listed)]

    def report(
        self, classes: dict[str, dict[str, int]], current: DomainConfig, candidate: DomainConfig
    ) -> dict[str, Any]:
        """The whole report; ``classes``: per student their classes and sizes, for the
        class misconceptions the collected signals raise."""
        self._count(
            compare(
                replay_classes(self.signals_now, classes, current),
                replay_classes(self.signals_candidate, classes, candidate),
            )
        )
        return {
            "students": self.students,
            "events": self.events,
            "events_skipped": self.skipped,
            "kinds": [
                {
                    "kind": kind,
                    "raised_now": self.raised_now.get(kind, 0),
                    "raised_by_candidate": self.raised_by_candidate.get(kind, 0),
                    "added": self.added.get(kind, 0),
                    "removed": self.removed.get(kind, 0),
                }
                for kind in ALERT_KINDS
            ],
            "added": [_summary(a) for a in self.added_listed],
            "removed": [_summary(a) for a in self.removed_listed],
        }


def compare_replays(
    logged: dict[str, list[dict[str, Any]]],
    current: DomainConfig,
    candidate: DomainConfig,
    until: datetime,
    classes: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """The report of a dry run over ``logged`` in one chunk; ``classes``: per student
    their classes and sizes, for class misconceptions."""
    tally = DryRunTally()
    tally.add(replay_chunk(logged, current, candidate, until))
    return tally.report(classes or {}, current, candidate)


async def dry_run(
    logged: dict[str, list[dict[str, Any]]],
    current: DomainConfig,
    candidate: DomainConfig,
    until: datetime,
    classes: dict[str, dict[str, int]],
) -> dict[str, Any]:
    """:func:`compare_replays` in a worker thread: pure CPU, off the event loop."""
    return await asyncio.to_thread(compare_replays, logged, current, candidate, until, classes)
