"""Response bodies of the teachers' class views and the progress history (OpenAPI)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from service import cursors


class ClassStudent(BaseModel):
    student_id: str
    overall_mastery: float | None = Field(description="null: no event seen yet")
    level: str | None
    topics: dict[str, float] = Field(description="score per topic")
    open_alerts: dict[str, int] = Field(description="unresolved alerts by severity")
    last_activity: datetime | None
    mastery_change_7d: float | None = Field(
        description="overall mastery now minus 7 days ago (or since the first day seen)"
    )
    why_flagged: list[str] = Field(description="what puts the student where risk does")


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


def encode_page(sort: str, offset: int) -> str:
    return cursors.encode([sort, offset])


def decode_page(cursor: str, sort: str) -> int:
    """The offset a cursor stands for; ValueError for one not issued for this sort."""
    try:
        cursor_sort, offset = cursors.decode(cursor)
    except (ValueError, TypeError) as exc:
        raise ValueError("cursor is not one this API issued") from exc
    if cursor_sort != sort or not isinstance(offset, int) or offset < 0:
        raise ValueError("cursor is not one this API issued for this sort")
    return offset
