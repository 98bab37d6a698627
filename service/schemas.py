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
    mastery_probability: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="how likely the student is to have learnt the topic (Bayesian Knowledge "
        "Tracing over the exercise submissions and graded quizzes), rounded to 3 decimals; "
        "null before the topic's first observation (docs/rules.md), and from a replica of "
        "the release before during an upgrade",
    )
    knowledge_level: Literal["Unlikely", "Uncertain", "Likely", "Mastered"] | None = Field(
        default=None,
        description="read off mastery_probability: below 0.5 Unlikely, from 0.5 Uncertain, "
        "from 0.8 Likely, from 0.95 Mastered; null with it",
    )
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


class PartitionLag(BaseModel):
    partition: int
    committed_offset: int | None = Field(
        description="the next offset the consumer group reads; null: it has committed none here"
    )
    log_start_offset: int = Field(description="the first offset still on the partition")
    log_end_offset: int = Field(description="the offset the next record written gets")
    lag: int | None = Field(
        description="records the group has still to read: log_end_offset - committed_offset "
        "(as kafka-consumer-groups.sh gives it); null without a commit"
    )


class TopicLag(BaseModel):
    topic: str
    role: Literal["inbound", "dead_letter"]
    exists: bool = Field(description="false: the brokers do not know the topic")
    records: int = Field(description="records on the topic now, all partitions")
    lag: int | None = Field(description="the partitions' lag summed; null: no commit at all")
    partitions: list[PartitionLag]


class DeadLetterRecord(BaseModel):
    partition: int
    offset: int
    written_by: Literal["service", "daprd"] = Field(
        description="service: an event it refused (with reason); daprd: a delivery it gave "
        "up on, or a message that is not a JSON object (docs/events.md)"
    )
    reason: str | None = Field(description="the service's reason; null for daprd's records")
    source_topic: str | None
    student_id: str | None = Field(description="the record's key, else the event's student_id")
    event_type: str | None
    event_id: str | None
    at: datetime | None = Field(
        description="dead_lettered_at of the service's records, else the Kafka timestamp"
    )


class DeadLetters(BaseModel):
    topic: str
    total: int = Field(description="records on the dead-letter topic now, all partitions")
    latest: list[DeadLetterRecord] = Field(description="the newest first")


class EventCount(BaseModel):
    type: str
    outcome: str = Field(description="applied, duplicate, poison (dead-lettered) or retried")
    count: int


class ReplicaEventCounts(BaseModel):
    """progress_events_total of the replica that answered, since it started."""

    started_at: datetime | None
    processed: int = Field(description="events applied or found to be duplicates")
    dead_lettered: int = Field(description="events the service refused (poison)")
    retried: int = Field(description="deliveries answered RETRY (daprd sends them again)")
    events: list[EventCount]


class OpsIntake(BaseModel):
    configured: bool = Field(description="false: PROGRESS_KAFKA_BROKERS is not set")
    brokers: list[str]
    consumer_group: str | None
    reachable: bool | None = Field(
        description="whether the brokers answered in time; null when not configured"
    )
    error: str | None = Field(description="why the Kafka figures are missing")
    topics: list[TopicLag] = Field(description="the inbound topics, then the dead-letter topic")
    dead_letters: DeadLetters | None
    replica: ReplicaEventCounts


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


ALERT_STREAM_EXAMPLE = (
    ": struggle alert changes after 1206\n"
    "retry: 3000\n"
    "\n"
    "id: 1207\n"
    "event: struggle.acknowledged\n"
    'data: {"change":"acknowledged","id":"6f0c2d1e-8a7b-4c3d-9e2f-1a2b3c4d5e6f",'
    '"student_id":"s-17","class_id":null,"kind":"low_quiz","topic_id":"python.loops",'
    '"severity":"high","status":"acknowledged","acknowledged_by":"t-1", ...}\n'
    "\n"
    ": heartbeat\n"
    "\n"
)


def alert_stream_response() -> dict[str, Any]:
    """The 200 of GET /struggles/stream in the OpenAPI document: Server-Sent Events,
    frames described (docs/api.md, 'The alert stream', says the same at length)."""
    return {
        "description": (
            "Server-Sent Events (text/event-stream), one frame per alert change, "
            "separated by a blank line:\n\n"
            "- `id:` the change's number, growing along the stream; send it back as "
            "`Last-Event-ID` (or `?last_event_id=`) to resume after it.\n"
            "- `event:` what happened: `struggle` (raised: a new alert), "
            "`struggle.acknowledged` or `struggle.resolved`.\n"
            "- `data:` one line of JSON: the alert in its current state, exactly the "
            "`Alert` schema (as `GET /struggles/{alert_id}` returns it), with `change` "
            "(`raised`, `acknowledged` or `resolved`, as the event). An alert changed "
            "twice between two reads is one frame, named by its latest change: keep "
            "alerts by `id`.\n"
            "- Comments (lines starting with `:`): `: struggle alert changes after N` "
            "first, then `: heartbeat` every PROGRESS_SSE_HEARTBEAT_S seconds; "
            "`retry: 3000` asks the client to reconnect after 3 s.\n\n"
            "docs/api.md, 'The alert stream'."
        ),
        "content": {
            "text/event-stream": {
                "schema": {"type": "string", "description": "a stream of SSE frames"},
                "example": ALERT_STREAM_EXAMPLE,
            }
        },
    }
