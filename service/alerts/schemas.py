"""The alert bodies of the HTTP API (OpenAPI schemas)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from actors.vocabulary import AlertStatus


class Alert(BaseModel):
    id: uuid.UUID
    student_id: str
    kind: str
    topic_id: str | None
    severity: str
    details: dict[str, Any]
    detected_at: datetime
    status: AlertStatus
    trigger_event_id: str | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_reason: str | None


class AlertPage(BaseModel):
    items: list[Alert]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class ResolveRequest(BaseModel):
    reason: Literal["addressed", "not_useful"] = Field(
        default="addressed",
        description="'not_useful' marks a false alarm, so rules can be tuned",
    )
