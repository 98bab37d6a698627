"""Event parsing: valid events become models, anything else a PoisonEvent with a reason."""

from datetime import UTC, datetime
from typing import Any

import pytest

from actors.events import ExerciseSubmitted, LearningMessage, PoisonEvent, parse_event


def submitted(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event_id": "e-1",
        "student_id": "stu_1.a:b@c-d",
        "occurred_at": "2026-11-25T10:00:00+01:00",
        "topic_id": "python.loops",
        "exercise_id": "ex-1",
        "passed": True,
        "score": 80,
    }
    data.update(overrides)
    return data


def test_valid_exercise_submitted() -> None:
    event = parse_event("exercise.submitted", submitted())
    assert isinstance(event, ExerciseSubmitted)
    assert event.occurred_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert event.score == 80.0 and event.passed is True


def test_message_without_topic_is_valid() -> None:
    event = parse_event(
        "learning.message",
        {"event_id": "m", "student_id": "s", "occurred_at": "2026-11-25T10:00:00Z", "text": "hi"},
    )
    assert isinstance(event, LearningMessage) and event.topic_id is None


@pytest.mark.parametrize(
    ("event_type", "data", "reason_part"),
    [
        ("exercise.exploded", submitted(), "unknown event type 'exercise.exploded'"),
        ("exercise.submitted", ["not", "an", "object"], "must be a JSON object"),
        ("exercise.submitted", submitted(student_id="has space"), "student_id"),
        ("exercise.submitted", submitted(student_id="x" * 129), "student_id"),
        ("exercise.submitted", submitted(event_id=""), "event_id"),
        ("exercise.submitted", submitted(score=100.5), "score"),
        ("exercise.submitted", submitted(score=-1), "score"),
        ("exercise.submitted", submitted(passed="true"), "passed"),
        ("exercise.submitted", submitted(occurred_at="2026-11-25T10:00:00"), "no UTC offset"),
        ("exercise.submitted", submitted(occurred_at="yesterday"), "not an RFC 3339"),
        (
            "exercise.submitted",
            {k: v for k, v in submitted().items() if k != "topic_id"},
            "topic_id",
        ),
        (
            "learning.message",
            {
                "event_id": "m",
                "student_id": "s",
                "occurred_at": "2026-11-25T10:00:00Z",
                "text": "x" * 4001,
            },
            "text",
        ),
    ],
)
def test_poison_events_name_the_problem(event_type: str, data: Any, reason_part: str) -> None:
    with pytest.raises(PoisonEvent) as info:
        parse_event(event_type, data)
    assert reason_part in info.value.reason


def test_poison_keeps_student_id_for_the_dead_letter_key() -> None:
    with pytest.raises(PoisonEvent) as info:
        parse_event("exercise.submitted", submitted(score="high"))
    assert info.value.student_id == "stu_1.a:b@c-d"
