"""Response and request bodies of the HTTP API (OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, Field

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN


class Components(BaseModel):
    exercise_completion: float = Field(description="distinct passed exercises / target, 0-100")
    quiz: float = Field(description="mean of the last 5 quiz scores, 0-100")
    code_quality: float = Field(description="mean of the last 5 code review ratings, 0-100")
    consistency: float = Field(description="current streak (capped at 7 days) / 7, 0-100")


class TopicProgress(BaseModel):
    topic_id: str
    score: float
    level: Literal["Beginner", "Learning", "Proficient", "Mastered"]
    components: Components
    passed_exercises: int
    exercise_target: int


class Progress(BaseModel):
    student_id: str
    overall_mastery: float
    topics: list[TopicProgress]
    streak_days: int
    last_activity: datetime | None = Field(description="newest occurred_at seen (UTC)")

    events_applied: int
    open_struggles: int


class Erasure(BaseModel):
    student_id: str
    state_removed: bool
    reminders_removed: list[str]
    alerts_removed: int


class Deadline(BaseModel):
    """A time-based rule's deadline the wake-up reminder serves."""

    kind: str = Field(description="stuck or inactivity")
    due_at: datetime
    topic_id: str | None = None
    exercise_id: str | None = None


class Reminder(BaseModel):
    name: str
    kind: str = Field(description="wake: the student's one reminder for time-based rules")
    expected_due_at: datetime = Field(
        description="when it is armed to fire: at or before the earliest deadline"
    )
    pending_in_scheduler: bool
    scheduler: dict[str, Any] | None
    deadlines: list[Deadline] = Field(description="what it checks when it fires")


class Reminders(BaseModel):
    student_id: str
    reminders: list[Reminder]


class ActorTypeInfo(BaseModel):
    type: str
    active_count: int


class PlacementHost(BaseModel):
    namespace: str
    address: str = Field(description="host:port of the daprd that hosts actors")
    app_id: str
    actor_types: list[str]


class OpsActors(BaseModel):
    app_id: str
    runtime_version: str
    actor_types: list[ActorTypeInfo] = Field(description="from this replica's daprd")
    placement_hosts: list[PlacementHost] = Field(description="from the placement service")


class Problem(BaseModel):
    """RFC 9457 problem document (media type application/problem+json). Some kinds carry
    more members (a OneRoster bundle's `problems`, a running dry run's `running`)."""

    type: str = Field(
        description="the kind of error: a URI ending in its name (by default "
        "`/problems/{kind}`, relative to the API, which serves a page there): "
        "bad-request, unknown-reference, unauthenticated, forbidden, not-found, "
        "method-not-allowed, conflict, body-too-large, invalid-input, internal-error, "
        "unavailable (docs/api.md, 'Errors')",
        examples=["/problems/not-found"],
    )
    title: str = Field(description="the HTTP status's phrase")
    status: int
    detail: str = Field(description="what went wrong this time, readable")


PathId = Annotated[str, Path(min_length=1, max_length=STUDENT_ID_MAX, pattern=STUDENT_ID_PATTERN)]
"""A student's or a class's id in a route's path (the one id rule, actors/vocabulary.py)."""


def problem(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


API_ERRORS: dict[int | str, dict[str, Any]] = {
    400: problem("malformed request (e.g. a cursor this API did not issue)"),
    401: problem("missing, invalid or expired bearer token"),
    403: problem("the token's role may not do this"),
    413: problem("request body too large"),
    422: problem("invalid parameter or body"),
    503: problem("a dependency (Dapr sidecar, actor, database) is unavailable; retry later"),
}
