"""The struggle alert table (SQLModel). Created by Alembic migrations, never by
``create_all``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, FetchedValue, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class StruggleAlert(SQLModel, table=True):
    __tablename__ = "struggle_alerts"

    id: uuid.UUID = Field(primary_key=True)
    # the student, or for a class_misconception the class (migration 0007)
    student_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    class_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    topic_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    severity: str = Field(sa_column=Column(Text, nullable=False))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    detected_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(default="open", sa_column=Column(Text, nullable=False))
    trigger_event_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    acknowledged_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    acknowledged_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    resolved_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    resolved_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    resolution_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # why it fired (actors/evidence.py); null on alerts raised before migration 0006
    rule: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    evidence: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    # Insertion order (identity); the stream's ids were these before migration 0013.
    seq: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=False, server_default=FetchedValue())
    )
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # Order of changes (raised, acknowledged, resolved), drawn from seq's sequence by a
    # trigger (migration 0013): the SSE stream's event ids and resume point.
    change_seq: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=False, server_default=FetchedValue())
    )
    # When the last change was made (set by the same trigger).
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=FetchedValue()),
    )
