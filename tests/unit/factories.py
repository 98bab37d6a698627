"""Builders for domain events in unit tests."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from dapr.actor.runtime.mock_actor import create_mock_actor

from actors.config import DomainConfig
from actors.event_batch import encode_batch
from actors.events import LearningEvent, parse_event, to_envelope
from actors.student_actor import ActorDeps, Outbound, StudentProgressActor
from actors.turns import TurnLocks

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
_ids = itertools.count()


def event(
    event_type: str,
    at: datetime = T0,
    topic: str | None = "python.loops",
    student: str = "s1",
    event_id: str | None = None,
    **fields: Any,
) -> LearningEvent:
    data: dict[str, Any] = {
        "event_id": event_id or f"e{next(_ids)}",
        "student_id": student,
        "occurred_at": at.isoformat(),
        **fields,
    }
    if topic is not None:
        data["topic_id"] = topic
    return parse_event(event_type, data)


def run(fail: bool, error: str | None = "NameError", **kw: Any) -> LearningEvent:
    return event("code.executed", success=not fail, error_type=error if fail else None, **kw)


def quiz(score: float, **kw: Any) -> LearningEvent:
    return event("exercise.quiz_graded", quiz_id="q", score=score, **kw)


def submitted(exercise: str, passed: bool = True, **kw: Any) -> LearningEvent:
    return event("exercise.submitted", exercise_id=exercise, passed=passed, score=70, **kw)


def started(exercise: str, **kw: Any) -> LearningEvent:
    return event("exercise.started", exercise_id=exercise, **kw)


def reviewed(quality: float, **kw: Any) -> LearningEvent:
    return event("code.reviewed", quality=quality, **kw)


def message(text: str, **kw: Any) -> LearningEvent:
    kw.setdefault("topic", None)
    return event("learning.message", text=text, **kw)


def batch_body(*events: LearningEvent, trace_ids: tuple[str, ...] = ()) -> bytes:
    """An ApplyEventBatch body of ``events``, as the intake writes it."""
    return encode_batch(
        [(e.type, json.dumps(to_envelope(e)["data"], separators=(",", ":"))) for e in events],
        trace_ids,
    )


def mock_student_actor(
    student_id: str,
    outbound: Outbound,
    turns: TurnLocks | None = None,
    config: DomainConfig | None = None,
) -> StudentProgressActor:
    """The SDK's mock actor (in-memory state manager) with its collaborators, as the
    service's actor factory gives them (the mock skips the actor's own __init__)."""
    actor = create_mock_actor(StudentProgressActor, student_id)
    actor._deps = ActorDeps(
        config=config or DomainConfig(), outbound=outbound, turns=turns or TurnLocks()
    )
    return actor
