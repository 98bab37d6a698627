"""Response bodies of the rule set routes (OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RuleSetOut(BaseModel):
    """As stored: a version written under looser bounds is still listed as it is."""

    version: int
    thresholds: dict[str, Any] = Field(description="as in the request (see RuleSetIn)")
    topics: dict[str, dict[str, Any]]
    knowledge_tracing: dict[str, Any] | None = Field(
        default=None, description="as in the request; null: the curriculum's parameters"
    )
    note: str
    created_by: str
    created_at: datetime
    applied_by: str | None
    applied_at: datetime | None = Field(description="last applied (null: never)")
    in_force: bool = Field(description="the version the actors of this replica use")


class KindDifference(BaseModel):
    kind: str
    raised_now: int = Field(description="alerts the rules in force raise on the events")
    raised_by_candidate: int
    added: int = Field(description="raised only by the candidate")
    removed: int = Field(description="raised only by the rules in force")


class ReplayedAlert(BaseModel):
    student_id: str | None
    class_id: str | None = None
    kind: str
    topic_id: str | None
    severity: str
    detected_at: str
    trigger_event_id: str | None
    thresholds: dict[str, object] | None


class DryRunReport(BaseModel):
    """What a dry run found: ``POST /rules/dry-run`` answers it with the request's fields
    added; a background dry run carries those itself."""

    students: int
    events: int
    events_skipped: int = Field(description="logged events this version no longer accepts")
    kinds: list[KindDifference]
    added: list[ReplayedAlert] = Field(description="the first 50")
    removed: list[ReplayedAlert] = Field(description="the first 50")


class DryRunOut(DryRunReport):
    """The report with the request as resolved."""

    model_config = ConfigDict(populate_by_name=True)

    current_version: int
    candidate_version: int | None = Field(description="null: the rule set in the request")
    class_id: str | None
    since: datetime = Field(alias="from")
    until: datetime = Field(alias="to")


class DryRunJobOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    status: Literal["running", "done", "failed"]
    requested_by: str
    requested_at: datetime
    class_id: str | None
    since: datetime = Field(alias="from")
    until: datetime = Field(alias="to")
    current_version: int = Field(description="the rules in force when it was started")
    candidate_version: int | None = Field(description="null: the rule set in the request")
    candidate: dict[str, Any] = Field(description="the candidate rule set, as replayed")
    students_total: int
    events_total: int = Field(description="retained events counted when it was started")
    students_done: int
    events_done: int
    heartbeat_at: datetime = Field(description="last sign of life of the replica running it")
    finished_at: datetime | None
    report: DryRunReport | None = Field(description="once done (not in the list)")
    error: str | None = Field(description="once failed: why")
