"""A student's progress state and how one event changes it. Pure: no I/O, no clock.

The state is what the actor stores (as JSON) in the Dapr actor state store. Every rule
uses the event's ``occurred_at``, never the arrival time, so replaying a stream gives
the same state whatever the delivery timing was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, Field

from actors.events import (
    CodeReviewed,
    ExerciseSubmitted,
    LearningEvent,
    QuizGraded,
)
from actors.mastery import STREAK_CAP_DAYS, Mastery, overall_mastery, topic_mastery

RECENT_WINDOW = 5  # the contract's "last 5" quiz scores and quality ratings


@dataclass(frozen=True)
class DomainConfig:
    """Tunables of the domain rules (filled from service settings)."""

    default_exercise_target: int = 5
    exercise_targets: dict[str, int] = field(default_factory=dict)
    dedupe_window: int = 512

    def exercise_target(self, topic_id: str) -> int:
        return self.exercise_targets.get(topic_id, self.default_exercise_target)


class Scored(BaseModel):
    """One timestamped value of a recent window; ordered by (occurred_at, event_id)."""

    occurred_at: datetime
    event_id: str
    value: float


class TopicState(BaseModel):
    first_seen: datetime
    passed_exercises: list[str] = Field(default_factory=list)  # distinct, sorted
    quiz_scores: list[Scored] = Field(default_factory=list)  # newest RECENT_WINDOW
    quality_ratings: list[Scored] = Field(default_factory=list)  # newest RECENT_WINDOW


class StudentState(BaseModel):
    student_id: str
    topics: dict[str, TopicState] = Field(default_factory=dict)
    # Distinct UTC days with activity, sorted; only the last STREAK_CAP_DAYS+1 days
    # before the newest one are kept, older days cannot change the capped streak.
    active_days: list[date] = Field(default_factory=list)
    last_activity: datetime | None = None
    # The most recent event_ids, oldest first, at most DomainConfig.dedupe_window.
    recent_event_ids: list[str] = Field(default_factory=list)
    events_applied: int = 0

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.recent_event_ids


@dataclass(frozen=True)
class TopicView:
    topic_id: str
    mastery: Mastery


@dataclass(frozen=True)
class Applied:
    """What applying one event did."""

    duplicate: bool
    changed_topics: tuple[str, ...] = ()


def _push_window(window: list[Scored], item: Scored) -> list[Scored]:
    merged = sorted([*window, item], key=lambda s: (s.occurred_at, s.event_id))
    return merged[-RECENT_WINDOW:]


def _record_day(days: list[date], day: date) -> list[date]:
    merged = sorted({*days, day})
    newest = merged[-1]
    floor = newest - timedelta(days=STREAK_CAP_DAYS)
    return [d for d in merged if d >= floor]


def streak(days: list[date]) -> int:
    """Consecutive active UTC days ending at the newest active day."""
    if not days:
        return 0
    count = 1
    ordered = sorted(days, reverse=True)
    for prev, cur in zip(ordered, ordered[1:], strict=False):
        if prev - cur != timedelta(days=1):
            break
        count += 1
    return count


def mastery_by_topic(state: StudentState, config: DomainConfig) -> dict[str, Mastery]:
    current_streak = streak(state.active_days)
    return {
        topic_id: topic_mastery(
            passed_exercises=len(topic.passed_exercises),
            exercise_target=config.exercise_target(topic_id),
            recent_quiz_scores=[s.value for s in topic.quiz_scores],
            recent_quality=[s.value for s in topic.quality_ratings],
            streak_days=current_streak,
        )
        for topic_id, topic in sorted(state.topics.items())
    }


def overall(state: StudentState, config: DomainConfig) -> float:
    return overall_mastery([m.score for m in mastery_by_topic(state, config).values()])


def apply_event(
    state: StudentState, event: LearningEvent, config: DomainConfig
) -> tuple[StudentState, Applied]:
    """Return the new state after ``event`` (the input state is not modified)."""
    if state.has_seen(event.event_id):
        return state, Applied(duplicate=True)
    before = mastery_by_topic(state, config)
    new = state.model_copy(deep=True)

    occurred = event.occurred_at
    new.active_days = _record_day(new.active_days, occurred.astimezone(UTC).date())
    if new.last_activity is None or occurred > new.last_activity:
        new.last_activity = occurred

    topic_id = event.topic_id
    if topic_id is not None:
        topic = new.topics.get(topic_id)
        if topic is None:
            topic = TopicState(first_seen=occurred)
            new.topics[topic_id] = topic
        elif occurred < topic.first_seen:
            topic.first_seen = occurred
        _apply_to_topic(topic, event)

    new.recent_event_ids = [*new.recent_event_ids, event.event_id][-config.dedupe_window :]
    new.events_applied += 1

    after = mastery_by_topic(new, config)
    changed = tuple(t for t, m in after.items() if before.get(t) != m)
    return new, Applied(duplicate=False, changed_topics=changed)


def _apply_to_topic(topic: TopicState, event: LearningEvent) -> None:
    if isinstance(event, ExerciseSubmitted):
        if event.passed and event.exercise_id not in topic.passed_exercises:
            topic.passed_exercises = sorted([*topic.passed_exercises, event.exercise_id])
    elif isinstance(event, QuizGraded):
        topic.quiz_scores = _push_window(
            topic.quiz_scores,
            Scored(occurred_at=event.occurred_at, event_id=event.event_id, value=event.score),
        )
    elif isinstance(event, CodeReviewed):
        topic.quality_ratings = _push_window(
            topic.quality_ratings,
            Scored(occurred_at=event.occurred_at, event_id=event.event_id, value=event.quality),
        )
