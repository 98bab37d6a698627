"""The read model's tables (SQLModel), created by migration 0005 (and 0011, 0014), never
by create_all."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Date, DateTime, FetchedValue, Float, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

OVERALL = "*"
"""The topic id of a student's overall mastery in progress_history."""


class StudentSummary(SQLModel, table=True):
    __tablename__ = "student_summary"

    student_id: str = Field(sa_column=Column(Text, primary_key=True))
    overall_mastery: float = Field(sa_column=Column(Float, nullable=False))
    level: str = Field(sa_column=Column(Text, nullable=False))
    streak_days: int = Field(sa_column=Column(Integer, nullable=False))
    last_activity: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
    # the life of the actor state the row comes from (actors/state.py ``life``; migration
    # 0011), null if not known
    life: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # when the actor saved the state the row shows (service/readmodel/projection.py)
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=FetchedValue()),
    )


class StudentProgress(SQLModel, table=True):
    __tablename__ = "student_progress"

    student_id: str = Field(sa_column=Column(Text, primary_key=True))
    topic_id: str = Field(sa_column=Column(Text, primary_key=True))
    score: float = Field(sa_column=Column(Float, nullable=False))
    level: str = Field(sa_column=Column(Text, nullable=False))
    components: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    passed_exercises: int = Field(sa_column=Column(Integer, nullable=False))
    exercise_target: int = Field(sa_column=Column(Integer, nullable=False))
    # the probability of knowing the topic as GET /progress shows it (migration 0014);
    # null before its first observation, or written by the release before
    mastery_probability: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    last_activity: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=FetchedValue()),
    )


class ProgressHistory(SQLModel, table=True):
    __tablename__ = "progress_history"

    student_id: str = Field(sa_column=Column(Text, primary_key=True))
    topic_id: str = Field(sa_column=Column(Text, primary_key=True))
    day: date = Field(sa_column=Column(Date, primary_key=True))
    score: float = Field(sa_column=Column(Float, nullable=False))
    level: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(sa_column=Column(BigInteger, nullable=False))


SUMMARY = StudentSummary.__table__  # type: ignore[attr-defined]
PROGRESS = StudentProgress.__table__  # type: ignore[attr-defined]
HISTORY = ProgressHistory.__table__  # type: ignore[attr-defined]
