"""Request and response bodies of the digest routes (OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from service.frontend.digests.periods import WEEKDAYS

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
assert tuple(Weekday.__args__) == WEEKDAYS  # type: ignore[attr-defined]


class NotificationsIn(BaseModel):
    channel: Literal["email", "webhook"] = Field(
        description="email (over SMTP) or webhook (a POST of Slack-compatible JSON)"
    )
    address: str = Field(
        min_length=3,
        max_length=2048,
        description="the email address (channel email) or the webhook's http(s) URL "
        "(https outside development)",
    )
    frequency: Literal["daily", "weekly"] = "daily"
    weekday: Weekday | None = Field(
        default=None, description="weekly only (and required then): the day it is sent"
    )
    time_zone: str = Field(
        default="UTC", max_length=64, description="IANA time zone, e.g. Europe/Paris"
    )
    send_hour: int = Field(default=7, ge=0, le=23, description="local hour it is sent")
    quiet_days: list[Weekday] = Field(
        default_factory=list,
        max_length=6,
        description="local days nothing is sent; a daily digest after them covers them",
    )
    enabled: bool = True


class NotificationsOut(BaseModel):
    teacher_id: str
    channel: Literal["email", "webhook"]
    address: str
    frequency: Literal["daily", "weekly"]
    weekday: Weekday | None
    time_zone: str
    send_hour: int
    quiet_days: list[Weekday]
    enabled: bool
    unsubscribed_at: datetime | None = Field(
        description="when an unsubscribe link turned the digests off (null when on again)"
    )
    updated_at: datetime


class DigestPreview(BaseModel):
    digest: dict[str, Any] = Field(
        description="the composed digest: period, per class who needs attention and why, "
        "drops, gains, misconceptions, links (docs/digests.md, 'What a digest says')"
    )
    would_send: bool = Field(description="false when the digest is empty (it is not sent)")
    subject: str
    text: str = Field(description="the plain text part of the email")
    html: str = Field(description="the HTML part of the email")
    webhook: dict[str, Any] = Field(description="the JSON a webhook receives")


class Delivery(BaseModel):
    id: int
    teacher_id: str
    period_kind: Literal["day", "week"]
    period_start: datetime
    period_end: datetime
    channel: Literal["email", "webhook"]
    status: Literal["pending", "sending", "sent", "failed", "empty", "skipped"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class OpsDigests(BaseModel):
    counts: dict[str, int] = Field(description="deliveries by status, every row")
    deliveries: list[Delivery]
