"""The alert bodies of the HTTP API (OpenAPI schemas)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN, AlertStatus


class Alert(BaseModel):
    id: uuid.UUID
    student_id: str | None = Field(description="null for an alert about a class")
    class_id: str | None = Field(
        default=None, description="set for a class_misconception (an alert about a class)"
    )
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
    updated_at: datetime = Field(
        description="when the alert last changed: raised, acknowledged or resolved "
        "(GET /struggles?updated_since=)"
    )
    rule: dict[str, Any] | None = Field(
        default=None,
        description="the rule that fired: kind, version of the rule set, thresholds "
        "(docs/rules.md, 'Evidence'); null on alerts raised before rules were recorded",
    )
    evidence: dict[str, Any] | None = Field(
        default=None,
        description="why it fired: event_ids, last_activity and the facts of its kind "
        "(docs/rules.md, 'Evidence'); null on alerts raised before evidence was recorded",
    )


class AlertPage(BaseModel):
    items: list[Alert]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class StreamTicketRequest(BaseModel):
    class_id: str | None = Field(
        default=None,
        max_length=STUDENT_ID_MAX,
        pattern=STUDENT_ID_PATTERN,
        description="bind the ticket to this class: the stream it opens carries that "
        "class's alerts only (a class the caller does not reach: 404)",
    )


class StreamTicket(BaseModel):
    ticket: str = Field(
        description="opaque; pass as ?ticket= to GET /struggles/stream (an EventSource "
        "cannot send an Authorization header)"
    )
    expires_at: datetime = Field(description="the stream refuses the ticket after this")
    class_id: str | None = Field(description="the class it is bound to, if any")


class ResolveRequest(BaseModel):
    reason: Literal["addressed", "not_useful"] = Field(
        default="addressed",
        description="'not_useful' marks a false alarm, so rules can be tuned",
    )


class KindFeedback(BaseModel):
    kind: str
    raised: int
    acknowledged: int = Field(description="acknowledged at some point (resolved since or not)")
    resolved_addressed: int
    resolved_not_useful: int
    not_useful_rate: float | None = Field(
        description="resolved as not useful / resolved (null: none resolved)"
    )
    median_minutes_to_acknowledge: float | None = Field(
        description="from the alert's insertion to its acknowledgement (null: none)"
    )


class RuleStats(BaseModel):
    class_id: str | None
    since: datetime
    kinds: list[KindFeedback] = Field(description="every alert kind, in a fixed order")
