"""Response bodies of the teachers' class views and the progress history (OpenAPI)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from service import cursors
from service.readmodel.views import SORT_KEYS, Sort


class FlagReason(BaseModel):
    """One reason a student is flagged, for a front end to say in its own words."""

    code: str = Field(
        description="open_high_alerts and open_medium_alerts {count}; mastery_fell {points, "
        "days}: overall mastery fell `points` over `days`; inactive {days}: no activity for "
        "`days` whole days (at least the inactivity rule's threshold); never_active {}: no "
        "event yet. A later version may add codes (not an enum, so clients keep working): "
        "show `text` for a code you do not know.",
        examples=["open_high_alerts"],
    )
    params: dict[str, int | float] = Field(description="the numbers the sentence holds")
    text: str = Field(description="the English sentence, as in why_flagged")


class ClassStudent(BaseModel):
    student_id: str
    overall_mastery: float | None = Field(description="null: no event seen yet")
    level: str | None
    topics: dict[str, float] = Field(description="score per topic")
    mastery_probability: dict[str, float | None] = Field(
        default_factory=dict,
        description="per topic (the same keys as topics): the probability that the student "
        "has learnt it, as GET /progress shows it (docs/rules.md); null before the topic's "
        "first observation, or while only the release before has written the topic",
    )
    open_alerts: dict[str, int] = Field(description="unresolved alerts by severity")
    last_activity: datetime | None
    mastery_change_7d: float | None = Field(
        description="overall mastery now minus 7 days ago (or since the first day seen)"
    )
    why_flagged: list[str] = Field(
        description="what puts the student where risk does, in English, in risk's order"
    )
    why_flagged_codes: list[FlagReason] = Field(
        description="the same reasons in the same order, each with a code and its "
        "parameters beside the sentence, so a front end can translate them"
    )


class ClassStudentsPage(BaseModel):
    items: list[ClassStudent]
    next_cursor: str | None = Field(description="pass as ?cursor= (with the same sort)")


class TopicCell(BaseModel):
    topic_id: str
    students: int = Field(description="students of the class with progress in the topic")
    beginner: int
    learning: int
    proficient: int
    mastered: int
    mean_score: float
    median_score: float
    students_with_open_alerts: int


class ClassTopics(BaseModel):
    class_id: str
    topics: list[TopicCell]


class ErrorCount(BaseModel):
    error_type: str
    count: int = Field(description="failed code.executed runs of the exercise with it")


class ExerciseInsight(BaseModel):
    exercise_id: str
    topic_id: str | None
    attempts: int = Field(description="exercise.submitted events of the class's students")
    passing_attempts: int
    pass_rate: float | None = Field(description="passing / all attempts (null: none)")
    students_started: int
    students_attempted: int
    students_passed: int
    median_minutes_to_first_pass: float | None = Field(
        description="from a student's first start to their first pass, over the students "
        "with both (null: none)"
    )
    top_errors: list[ErrorCount] = Field(description="the three most frequent error types")


class ClassExercises(BaseModel):
    class_id: str
    since: datetime = Field(description="events retained from (docs/api.md)")
    exercises: list[ExerciseInsight]


class HistoryPoint(BaseModel):
    topic_id: str = Field(description='"*" is the overall mastery')
    day: date
    score: float
    level: str


class History(BaseModel):
    student_id: str
    points: list[HistoryPoint]


def encode_page(sort: Sort, position: tuple[Any, ...]) -> str:
    """The cursor of the page after ``position`` (the sort's key values of a row)."""
    values = [v.isoformat() if isinstance(v, datetime) else v for v in position]
    return cursors.encode([sort, values])


def decode_page(cursor: str, sort: Sort) -> tuple[Any, ...]:
    """The position a cursor stands for, typed per key of ``sort``; ValueError for one
    not issued for this sort."""
    try:
        cursor_sort, values = cursors.decode(cursor)
    except (ValueError, TypeError) as exc:
        raise ValueError("cursor is not one this API issued") from exc
    keys = SORT_KEYS.get(sort, ())
    if cursor_sort != sort or not isinstance(values, list) or len(values) != len(keys):
        raise ValueError("cursor is not one this API issued for this sort")
    try:
        return tuple(_typed(key.sql_type, value) for key, value in zip(keys, values, strict=True))
    except (ValueError, TypeError) as exc:
        raise ValueError("cursor is not one this API issued for this sort") from exc


def _typed(sql_type: str, value: Any) -> Any:
    """A cursor's value as the key's column holds it; TypeError for another type."""
    if sql_type == "text" and isinstance(value, str):
        return value
    if sql_type == "bigint" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if value is None and sql_type in ("float8", "timestamptz"):
        return None
    if sql_type == "float8" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if sql_type == "timestamptz" and isinstance(value, str):
        when = datetime.fromisoformat(value)
        if when.tzinfo is None:
            raise ValueError("a position's time has a time zone")
        return when
    raise TypeError(f"{value!r} is not a {sql_type} position")
