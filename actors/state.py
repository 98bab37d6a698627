"""A student's stored state: what the formulas and rules need, nothing more. Pure data.

Stored as JSON in the Dapr actor state store under one key per student.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from actors.mastery import STREAK_CAP_DAYS

RECENT_WINDOW = 5  # the contract's "last 5" quiz scores and quality ratings

# Fields this version does not know (written by a newer one) are kept, and written back
# as they were: decision 012, actors/stored_state.py.
KEEP_UNKNOWN_FIELDS = ConfigDict(extra="allow")


class Scored(BaseModel):
    """One timestamped value of a recent window; ordered by (occurred_at, event_id)."""

    model_config = KEEP_UNKNOWN_FIELDS

    occurred_at: datetime
    event_id: str
    value: float


class PendingExercise(BaseModel):
    """An exercise.started without a passing submission yet (the stuck rule)."""

    model_config = KEEP_UNKNOWN_FIELDS

    exercise_id: str
    started_at: datetime
    event_id: str | None = None  # the start's event (unknown before schema version 4)


FAILURE_WINDOW = 10  # failed runs a topic keeps as evidence (docs/rules.md, "Evidence")
PROBABILITY_WINDOW = 20  # (event, probability) points a topic keeps (knowledge tracing)
ERROR_MESSAGE_EXCERPT = 200  # characters of an error message kept


class FailedRun(BaseModel):
    """A failed code.executed, kept as evidence for the failed-runs rules."""

    model_config = KEEP_UNKNOWN_FIELDS

    event_id: str
    occurred_at: datetime
    error_type: str | None = None
    error_message: str | None = None  # the first ERROR_MESSAGE_EXCERPT characters
    exercise_id: str | None = None


class TopicState(BaseModel):
    model_config = KEEP_UNKNOWN_FIELDS
    first_seen: datetime
    passed_exercises: list[str] = Field(default_factory=list)  # distinct, sorted
    quiz_scores: list[Scored] = Field(default_factory=list)  # newest RECENT_WINDOW
    quality_ratings: list[Scored] = Field(default_factory=list)  # newest RECENT_WINDOW
    # failed code.executed per error_type since the last successful run in the topic
    error_counts: dict[str, int] = Field(default_factory=dict)
    consecutive_failures: int = 0
    # the newest FAILURE_WINDOW failed runs since the last successful run, oldest first
    recent_failures: list[FailedRun] = Field(default_factory=list)
    # error_type -> occurred_at of the last error signal sent to the student's classes
    # (actors/misconceptions.py); entries older than the misconception window dropped
    error_signalled: dict[str, datetime] = Field(default_factory=dict)
    pending_exercises: list[PendingExercise] = Field(default_factory=list)
    # Knowledge tracing (actors/knowledge_tracing.py; docs/rules.md, "Mastery as a
    # probability"), from schema version 5: P(known) after the newest observation (an
    # exercise submission or a graded quiz; None: none seen since version 5), how many
    # observations, and the probability after each of the newest PROBABILITY_WINDOW
    # (event time, event id, probability), oldest first, in delivery order as applied.
    mastery_probability: float | None = None
    observations: int = 0
    probability_history: list[Scored] = Field(default_factory=list)
    # a wheel_spinning alert was raised since the probability was last at mastery (none
    # again until it gets there; actors/rules.py)
    spinning_alerted: bool = False


class StudentState(BaseModel):
    model_config = KEEP_UNKNOWN_FIELDS
    # The stored form's version; older stored forms are upgraded on load
    # (actors/stored_state.py).
    schema_version: int = 5  # SCHEMA_VERSION in actors/stored_state.py
    # The oldest schema version that reads this state correctly (decision 012): a newer
    # version that only adds fields leaves it at the version before it.
    min_reader_version: int = 4
    student_id: str
    topics: dict[str, TopicState] = Field(default_factory=dict)
    # Distinct UTC days with activity, sorted; days more than STREAK_CAP_DAYS before the
    # newest are dropped: they can no longer change the capped streak.
    active_days: list[date] = Field(default_factory=list)
    last_activity: datetime | None = None
    last_event_id: str | None = None  # the event of last_activity (from schema version 4)
    # The last_activity an inactivity alert was raised for: no second alert until newer
    # activity (None: none raised since the last activity).
    inactivity_alerted_for: datetime | None = None
    # When the student's one wake-up reminder is armed to fire (None: not armed). It is
    # armed for the earliest time-based deadline and moved only to an earlier one
    # (actors/rules.py, "Time-based rules").
    wake_due: datetime | None = None
    # The most recent event_ids, oldest first, at most DomainConfig.dedupe_window.
    recent_event_ids: list[str] = Field(default_factory=list)
    events_applied: int = 0
    # Which life of the student's state this is: the event_id of the first event it
    # applied. The state expires 30 days after its last write; a student who returns
    # after that starts a new life from nothing, and the read model replaces the old
    # life's rows by the new one's whatever their events_applied (docs/api.md). None:
    # a state begun before this field, or by an older release (one life, unnamed).
    life: str | None = None
    # When the actor last saved the state (actors/student_actor.py; None: not saved by a
    # release that records it, or not saved yet). The store drops the state
    # PROGRESS_ACTOR_STATE_TTL_S after it, and the read model's rows go with it
    # (service/readmodel/projection.py). An older release saving the state leaves it
    # stale (decision 012): then it is a lower bound, and both readers allow for that.
    # Neither field needs an upgrade step: an older form reads as None, which is right.
    saved_at: datetime | None = None
    # Side effects decided but not yet confirmed done (see actors/effects.py).
    outbox: list[dict[str, Any]] = Field(default_factory=list)

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.recent_event_ids


def push_window(window: list[Scored], item: Scored) -> list[Scored]:
    merged = sorted([*window, item], key=lambda s: (s.occurred_at, s.event_id))
    return merged[-RECENT_WINDOW:]


def record_day(days: list[date], day: date) -> list[date]:
    merged = sorted({*days, day})
    floor = merged[-1] - timedelta(days=STREAK_CAP_DAYS)
    return [d for d in merged if d >= floor]


def streak(days: list[date]) -> int:
    """Consecutive active UTC days ending at the newest active day."""
    if not days:
        return 0
    ordered = sorted(days, reverse=True)
    count = 1
    for newer, older in zip(ordered, ordered[1:], strict=False):
        if newer - older != timedelta(days=1):
            break
        count += 1
    return count
