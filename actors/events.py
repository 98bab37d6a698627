"""Inbound learning events: the contract's shapes, validated strictly.

``parse_event`` turns a CloudEvent ``type`` and its ``data`` object into one of the
models below or raises :class:`PoisonEvent` with a reason a producer can act on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN, NotRfc3339, parse_rfc3339

EventId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
StudentId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=STUDENT_ID_MAX, pattern=STUDENT_ID_PATTERN),
]
TopicId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
RefId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Score = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class PoisonEvent(ValueError):
    """An event that can never be processed: it goes to the dead-letter topic."""

    def __init__(self, reason: str, student_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.student_id = student_id


class _Event(BaseModel):
    # strict: no silent coercion ("5" is not a score, "true" is not a bool); extra
    # fields are allowed so producers can add fields without breaking us.
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    event_id: EventId
    student_id: StudentId
    occurred_at: AwareDatetime
    topic_id: TopicId


class LessonStarted(_Event):
    type: Literal["learning.lesson_started"]
    lesson_id: RefId


class LessonCompleted(_Event):
    type: Literal["learning.lesson_completed"]
    lesson_id: RefId


class LearningMessage(_Event):
    type: Literal["learning.message"]
    topic_id: TopicId | None = None  # type: ignore[assignment]
    text: Annotated[str, StringConstraints(max_length=4000)]


class ExerciseStarted(_Event):
    type: Literal["exercise.started"]
    exercise_id: RefId


class ExerciseSubmitted(_Event):
    type: Literal["exercise.submitted"]
    exercise_id: RefId
    passed: bool
    score: Score


class QuizGraded(_Event):
    type: Literal["exercise.quiz_graded"]
    quiz_id: RefId
    score: Score


class CodeExecuted(_Event):
    type: Literal["code.executed"]
    exercise_id: RefId | None = None
    success: bool
    error_type: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    # what the runtime printed about the error (optional; quoted in alerts' evidence)
    error_message: Annotated[str, StringConstraints(max_length=4000)] | None = None


class CodeReviewed(_Event):
    type: Literal["code.reviewed"]
    exercise_id: RefId | None = None
    quality: Score


LearningEvent = Annotated[
    LessonStarted
    | LessonCompleted
    | LearningMessage
    | ExerciseStarted
    | ExerciseSubmitted
    | QuizGraded
    | CodeExecuted
    | CodeReviewed,
    Field(discriminator="type"),
]

EVENT_TYPES: frozenset[str] = frozenset(
    {
        "learning.lesson_started",
        "learning.lesson_completed",
        "learning.message",
        "exercise.started",
        "exercise.submitted",
        "exercise.quiz_graded",
        "code.executed",
        "code.reviewed",
    }
)

_adapter: TypeAdapter[LearningEvent] = TypeAdapter(LearningEvent)


def _describe(error: ValidationError) -> str:
    parts = []
    for e in error.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"][1:]) or "data"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def to_envelope(event: LearningEvent) -> dict[str, Any]:
    """What the intake hands to the student's actor: ``{"type": ..., "data": {...}}``,
    the form ``parse_event(envelope["type"], envelope["data"])`` reads back."""
    return {"type": event.type, "data": event.model_dump(mode="json", exclude={"type"})}


def parse_event(event_type: object, data: object) -> LearningEvent:
    """Validate one event. Raises PoisonEvent naming every problem found."""
    student = data.get("student_id") if isinstance(data, dict) else None
    student_id = student if isinstance(student, str) else None
    if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
        raise PoisonEvent(
            f"unknown event type {event_type!r}; expected one of {sorted(EVENT_TYPES)} "
            "in the CloudEvent 'type'",
            student_id,
        )
    if not isinstance(data, dict):
        raise PoisonEvent(
            f"event data must be a JSON object, got {type(data).__name__}", student_id
        )
    payload: dict[str, Any] = {**data, "type": event_type}
    if isinstance(payload.get("occurred_at"), str):
        # strict mode accepts only datetime objects; parse RFC 3339 text here.
        payload["occurred_at"] = _parse_timestamp(payload["occurred_at"], student_id)
    try:
        return _adapter.validate_python(payload)
    except ValidationError as exc:
        raise PoisonEvent(f"invalid {event_type}: {_describe(exc)}", student_id) from exc


def _parse_timestamp(text: str, student_id: str | None) -> datetime:
    try:
        return parse_rfc3339(text, "occurred_at")
    except NotRfc3339 as exc:
        raise PoisonEvent(str(exc), student_id) from exc
