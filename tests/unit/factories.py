"""Builders for domain events in unit tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from actors.events import LearningEvent, parse_event

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
