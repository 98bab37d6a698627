"""The digest tables (SQLModel): each teacher's notification settings and one row per
digest delivery. Created by the Alembic migration 0016, never by ``create_all``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    FetchedValue,
    Integer,
    SmallInteger,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


class TeacherNotifications(SQLModel, table=True):
    __tablename__ = "teacher_notifications"

    teacher_id: str = Field(sa_column=Column(Text, primary_key=True))
    channel: str = Field(sa_column=Column(Text, nullable=False))  # email | webhook
    address: str = Field(sa_column=Column(Text, nullable=False))  # email address or URL
    frequency: str = Field(sa_column=Column(Text, nullable=False))  # daily | weekly
    weekday: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    time_zone: str = Field(sa_column=Column(Text, nullable=False))
    send_hour: int = Field(sa_column=Column(SmallInteger, nullable=False))
    quiet_days: list[int] = Field(sa_column=Column(ARRAY(SmallInteger), nullable=False))
    enabled: bool = Field(sa_column=Column(Boolean, nullable=False))
    unsubscribed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=FetchedValue()),
    )


class DigestDelivery(SQLModel, table=True):
    __tablename__ = "digest_deliveries"

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, primary_key=True, server_default=FetchedValue()),
    )
    teacher_id: str = Field(sa_column=Column(Text, nullable=False))
    period_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    period_end: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    period_kind: str = Field(sa_column=Column(Text, nullable=False))  # day | week
    channel: str = Field(sa_column=Column(Text, nullable=False))
    # pending | sending | sent | failed (given up) | empty (nothing to say) | skipped
    status: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=FetchedValue()),
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


NOTIFICATIONS = TeacherNotifications.__table__  # type: ignore[attr-defined]
DELIVERIES = DigestDelivery.__table__  # type: ignore[attr-defined]
