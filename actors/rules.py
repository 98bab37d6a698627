"""How one event, or one reminder firing, changes a student's state, and which side
effects follow (alerts, reminders, progress.updated). Pure: no I/O, no clock: the
current time is passed in where a rule needs it (reminder firings only).

The rules, their thresholds (DomainConfig) and the decisions behind them are described
once, in docs/rules.md; this module is their implementation: ``_Rules`` has one method per
event type, ``fire_reminder`` the time-based kinds.

Time-based rules: the two deadline rules (stuck, inactivity) share one durable Dapr
reminder per student, ``wake``, armed for the earliest deadline the state holds
(:func:`next_deadline`). A new deadline re-arms it only when it is earlier than the armed
one; a passed exercise or new activity does not cancel or move anything. When it fires,
:func:`fire_reminder` raises what is due by then and arms it again for the next deadline;
when it fires early (what it was armed for went away) it just re-arms. A reminder write
goes through the Dapr scheduler, whose store commits each write on its own (~160 writes/s
on the benchmark machine, docs/performance.md): one per exercise start and one per pass,
as before this design, capped the whole service.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.config import DomainConfig
from actors.effects import (
    AlertCandidate,
    CancelReminder,
    Effect,
    ErrorSignal,
    ProjectProgress,
    PublishProgress,
    RaiseAlert,
    SetReminder,
    SignalErrors,
    make_alert,
)
from actors.events import (
    CodeExecuted,
    CodeReviewed,
    ExerciseStarted,
    ExerciseSubmitted,
    LearningEvent,
    LearningMessage,
    QuizGraded,
)
from actors.evidence import (
    event_evidence,
    failure_evidence,
    inactivity_evidence,
    rule_of,
    spinning_evidence,
    stuck_evidence,
)
from actors.knowledge_tracing import BktParameters, observation, published, update
from actors.mastery import Mastery, overall_mastery
from actors.progress_view import mastery_by_topic, topic_document
from actors.state import (
    ERROR_MESSAGE_EXCERPT,
    FAILURE_WINDOW,
    PROBABILITY_WINDOW,
    FailedRun,
    PendingExercise,
    Scored,
    StudentState,
    TopicState,
    push_window,
    record_day,
)
from actors.vocabulary import iso_z

WAKE_REMINDER = "wake"
# A reminder may be delivered a moment before its due time.
_EARLY_TOLERANCE = timedelta(seconds=1)


@dataclass(frozen=True)
class Outcome:
    duplicate: bool
    changed_topics: tuple[str, ...] = ()
    effects: tuple[Effect, ...] = ()

    @property
    def alerts(self) -> list[AlertCandidate]:
        return [e.alert for e in self.effects if isinstance(e, RaiseAlert)]


@dataclass(frozen=True)
class TurnOutcome:
    """What one turn (several events of one student, in order) did, event by event."""

    outcomes: tuple[Outcome, ...]

    @property
    def applied(self) -> int:
        return sum(not o.duplicate for o in self.outcomes)

    @property
    def effects(self) -> tuple[Effect, ...]:
        return tuple(e for o in self.outcomes for e in o.effects)

    @property
    def alerts(self) -> list[AlertCandidate]:
        return [a for o in self.outcomes for a in o.alerts]


def stuck_reminder_name(topic_id: str, exercise_id: str) -> str:
    """The name of the reminder schema version 2 armed per pending exercise. Stuck alert
    ids are still derived from it, so an alert raised before and after the upgrade for
    the same start has the same id."""
    digest = hashlib.sha256(f"{topic_id}|{exercise_id}".encode()).hexdigest()[:24]
    return f"stuck-{digest}"


def _normalise(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").lower().split())


def matched_help_phrase(text: str, phrases: tuple[str, ...]) -> str | None:
    normalised = _normalise(text)
    for phrase in phrases:
        if _normalise(phrase) in normalised:
            return phrase
    return None


class _Rules:
    """Applies one event to a (copied) state, collecting effects."""

    def __init__(self, state: StudentState, event: LearningEvent, config: DomainConfig) -> None:
        self.state = state
        self.event = event
        self.config = config
        self.effects: list[Effect] = []

    def alert(
        self,
        kind: Any,
        topic_id: str | None,
        severity: Any,
        details: dict[str, Any],
        evidence: dict[str, Any],
        trigger_suffix: str = "",
    ) -> None:
        self.effects.append(
            RaiseAlert(
                alert=make_alert(
                    self.state.student_id,
                    kind,
                    topic_id,
                    severity,
                    details,
                    detected_at=self.event.occurred_at,
                    trigger=self.event.event_id + trigger_suffix,
                    trigger_event_id=self.event.event_id,
                    rule=rule_of(kind, self.config.for_topic(topic_id)),
                    evidence=evidence,
                )
            )
        )

    def topic(self, topic_id: str) -> TopicState:
        topic = self.state.topics.get(topic_id)
        if topic is None:
            topic = TopicState(first_seen=self.event.occurred_at)
            self.state.topics[topic_id] = topic
        elif self.event.occurred_at < topic.first_seen:
            topic.first_seen = self.event.occurred_at
        return topic

    def run(self) -> None:
        e = self.event
        if isinstance(e, LearningMessage):
            phrase = matched_help_phrase(e.text, self.config.help_phrases)
            if e.topic_id is not None:
                self.topic(e.topic_id)
            if phrase is not None:
                details: dict[str, Any] = {"phrase": phrase, "excerpt": e.text[:200]}
                evidence = event_evidence(self.state, e.event_id, **details)
                self.alert("help_request", e.topic_id, "high", details, evidence)
            return
        topic = self.topic(e.topic_id)
        if isinstance(e, ExerciseStarted):
            self.exercise_started(e, topic)
        elif isinstance(e, ExerciseSubmitted):
            self.exercise_submitted(e, topic)
        elif isinstance(e, QuizGraded):
            topic.quiz_scores = push_window(
                topic.quiz_scores,
                Scored(occurred_at=e.occurred_at, event_id=e.event_id, value=e.score),
            )
            rules = self.config.for_topic(e.topic_id)
            if e.score < rules.quiz_low_below:
                severity = "high" if e.score < rules.quiz_high_below else "low"
                details = {"quiz_id": e.quiz_id, "score": e.score}
                recent = [s.value for s in topic.quiz_scores]
                evidence = event_evidence(self.state, e.event_id, **details, recent_scores=recent)
                self.alert("low_quiz", e.topic_id, severity, details, evidence)
        elif isinstance(e, CodeReviewed):
            topic.quality_ratings = push_window(
                topic.quality_ratings,
                Scored(occurred_at=e.occurred_at, event_id=e.event_id, value=e.quality),
            )
        elif isinstance(e, CodeExecuted):
            self.code_executed(e, topic)
        # the quiz pass mark is the low_quiz threshold: a quiz it calls low is a wrong answer
        correct = observation(e, self.config.for_topic(e.topic_id).quiz_low_below)
        if correct is not None:
            self.observe(e.topic_id, correct, topic)

    def observe(self, topic_id: str, correct: bool, topic: TopicState) -> None:
        """Knowledge tracing: an observation (an answer, right or wrong) in the topic
        moves its probability (from the prior at the first) by the topic's parameters."""
        e = self.event
        params = self.config.knowledge_tracing.for_topic(topic_id)
        held = topic.mastery_probability
        p = update(params.prior if held is None else held, correct, params)
        topic.mastery_probability = p
        topic.observations += 1
        point = Scored(occurred_at=e.occurred_at, event_id=e.event_id, value=p)
        topic.probability_history = [*topic.probability_history, point][-PROBABILITY_WINDOW:]
        self.wheel_spinning(topic_id, topic, params)

    def wheel_spinning(self, topic_id: str, topic: TopicState, params: BktParameters) -> None:
        """Many answers without mastery (Beck & Gong): at least wheel_spinning_attempts
        observations in the topic and its probability, as shown, below
        wheel_spinning_mastery now. Once, until the probability gets to mastery again."""
        rules = self.config.for_topic(topic_id)
        shown = published(topic.mastery_probability or 0.0)
        if shown >= rules.wheel_spinning_mastery:
            topic.spinning_alerted = False  # mastered: a later fall is a new spell
            return
        if topic.spinning_alerted or topic.observations < rules.wheel_spinning_attempts:
            return
        topic.spinning_alerted = True
        parameters = self.config.knowledge_tracing
        self.alert(
            "wheel_spinning",
            topic_id,
            "medium",
            {"attempts": topic.observations, "mastery_probability": shown},
            spinning_evidence(self.state, topic, params, parameters.version),
        )

    def exercise_started(self, e: ExerciseStarted, topic: TopicState) -> None:
        if e.exercise_id in topic.passed_exercises:
            return
        if any(p.exercise_id == e.exercise_id for p in topic.pending_exercises):
            return  # the deadline runs from the first start
        topic.pending_exercises.append(
            PendingExercise(
                exercise_id=e.exercise_id, started_at=e.occurred_at, event_id=e.event_id
            )
        )
        del topic.pending_exercises[: -self.config.max_pending_exercises]

    def exercise_submitted(self, e: ExerciseSubmitted, topic: TopicState) -> None:
        if not e.passed:
            return
        if e.exercise_id not in topic.passed_exercises:
            topic.passed_exercises = sorted([*topic.passed_exercises, e.exercise_id])
        topic.pending_exercises = [
            p for p in topic.pending_exercises if p.exercise_id != e.exercise_id
        ]

    def code_executed(self, e: CodeExecuted, topic: TopicState) -> None:
        if e.success:
            topic.error_counts = {}
            topic.consecutive_failures = 0
            topic.recent_failures = []
            return
        topic.consecutive_failures += 1
        message = e.error_message[:ERROR_MESSAGE_EXCERPT] if e.error_message else None
        failed = FailedRun(
            event_id=e.event_id,
            occurred_at=e.occurred_at,
            error_type=e.error_type,
            error_message=message,
            exercise_id=e.exercise_id,
        )
        topic.recent_failures = [*topic.recent_failures, failed][-FAILURE_WINDOW:]
        count = 0
        if e.error_type is not None:
            count = topic.error_counts.get(e.error_type, 0) + 1
            topic.error_counts[e.error_type] = count
            self.signal_error(e, e.error_type, topic)
        rules = self.config.for_topic(e.topic_id)
        if topic.consecutive_failures == rules.consecutive_failure_count:
            self.alert(
                "failed_executions",
                e.topic_id,
                "medium",
                {"consecutive_failures": topic.consecutive_failures},
                {
                    **failure_evidence(self.state, topic.recent_failures, topic.error_counts),
                    "consecutive_failures": topic.consecutive_failures,
                },
            )
        if e.error_type is not None and count == rules.repeated_error_count:
            self.alert(
                "repeated_error",
                e.topic_id,
                "medium",
                {"error_type": e.error_type, "count": count},
                {
                    **failure_evidence(
                        self.state, topic.recent_failures, topic.error_counts, e.error_type
                    ),
                    "error_type": e.error_type,
                    "count": count,
                },
                trigger_suffix=f"|{e.error_type}",
            )

    def signal_error(self, e: CodeExecuted, error_type: str, topic: TopicState) -> None:
        """Tell the student's classes they hit ``error_type`` here: at most once per
        quarter of the misconception window per topic and type (a class keeps each
        student's newest signal for the window; more often would only cost calls)."""
        window = self.config.for_topic(e.topic_id).misconception_window
        last = topic.error_signalled.get(error_type)
        if last is not None and e.occurred_at - last < window / 4:
            return
        topic.error_signalled = {
            t: at for t, at in topic.error_signalled.items() if at >= e.occurred_at - window
        }
        topic.error_signalled[error_type] = e.occurred_at
        signal = ErrorSignal(
            student_id=self.state.student_id,
            topic_id=e.topic_id,
            error_type=error_type,
            occurred_at=e.occurred_at,
            event_id=e.event_id,
        )
        self.effects.append(SignalErrors(signals=[signal]))


def apply_events(
    state: StudentState,
    events: Sequence[LearningEvent],
    config: DomainConfig,
    in_place: bool = False,
    progress: bool = True,
) -> tuple[StudentState, TurnOutcome]:
    """The new state after ``events`` (in delivery order) and each event's outcome.

    One copy of the state for the whole sequence, and each event's mastery "after" is
    the next one's "before": the result equals applying the events one by one with
    :func:`apply_event` (a property test checks it). The input is not modified, unless
    ``in_place``: then it becomes the new state (the actor, which drops its copy of the
    state when a turn fails, saves the deep copy that way). Without ``progress`` the
    mastery is not computed and no progress.updated decided: for replays that only want
    the alerts (actors/replay.py), where mastery is most of the cost.
    """
    new = state if in_place else state.model_copy(deep=True)
    seen = set(new.recent_event_ids)
    before = mastery_by_topic(new, config) if progress else {}
    outcomes: list[Outcome] = []
    for event in events:
        if event.event_id in seen:
            outcomes.append(Outcome(duplicate=True))
            continue
        outcome, before = _apply_in_place(new, event, config, before, progress)
        seen.add(event.event_id)
        while len(new.recent_event_ids) > config.dedupe_window:
            seen.discard(new.recent_event_ids.pop(0))
        outcomes.append(outcome)
    if not any(not o.duplicate for o in outcomes):
        return state, TurnOutcome(tuple(outcomes))
    return new, TurnOutcome(tuple(outcomes))


def apply_event(
    state: StudentState, event: LearningEvent, config: DomainConfig
) -> tuple[StudentState, Outcome]:
    """The new state after one ``event`` and the effects to perform (input not modified)."""
    new, turn = apply_events(state, (event,), config)
    return new, turn.outcomes[0]


def _apply_in_place(
    new: StudentState,
    event: LearningEvent,
    config: DomainConfig,
    before: dict[str, Mastery],
    progress: bool = True,
) -> tuple[Outcome, dict[str, Mastery]]:
    """Apply one event not seen before to ``new`` (modified); ``before`` is the mastery
    of ``new`` as it is now. Returns the outcome and the mastery afterwards."""
    new.active_days = record_day(new.active_days, event.occurred_at.astimezone(UTC).date())
    advanced = new.last_activity is None or event.occurred_at > new.last_activity
    if advanced:
        new.last_activity = event.occurred_at
        new.last_event_id = event.event_id

    if advanced:
        new.inactivity_alerted_for = None  # a new idle spell starts

    rules = _Rules(new, event, config)
    rules.run()
    effects = rules.effects
    wake = _arm_wake(new, event.occurred_at, config)
    if wake is not None:
        effects.append(wake)

    new.recent_event_ids.append(event.event_id)
    if new.events_applied == 0 and new.life is None:
        new.life = event.event_id  # the first event of this state's life
    new.events_applied += 1
    if not progress:
        return Outcome(duplicate=False, effects=tuple(effects)), before

    after = mastery_by_topic(new, config)
    changed = tuple(t for t, m in after.items() if before.get(t) != m)
    if changed:
        effects.append(
            PublishProgress(
                payload={
                    "id": f"progress:{new.student_id}:{event.event_id}",
                    "student_id": new.student_id,
                    "trigger_event_id": event.event_id,
                    "trigger_type": event.type,
                    "occurred_at": iso_z(event.occurred_at),
                    "overall_mastery": overall_mastery([m.score for m in after.values()]),
                    "topics": [
                        {
                            **topic_document(t, after[t]),
                            "previous_score": before[t].score if t in before else None,
                        }
                        for t in changed
                    ],
                }
            )
        )
    return Outcome(duplicate=False, changed_topics=changed, effects=tuple(effects)), after


def _stuck_deadlines(state: StudentState, config: DomainConfig) -> list[tuple[datetime, str, str]]:
    """(deadline, topic, exercise) of every pending exercise."""
    return [
        (pending.started_at + config.for_topic(topic_id).stuck_after, topic_id, pending.exercise_id)
        for topic_id, topic in sorted(state.topics.items())
        for pending in topic.pending_exercises
    ]


def _inactivity_deadline(state: StudentState, config: DomainConfig) -> datetime | None:
    """When the current idle spell's inactivity alert is due (None: no activity yet, or
    raised already)."""
    last = state.last_activity
    if last is None or state.inactivity_alerted_for == last:
        return None
    return last + config.inactivity_after


def next_deadline(state: StudentState, config: DomainConfig) -> datetime | None:
    """The earliest time a time-based rule may raise an alert (None: none pending)."""
    deadlines = [d for d, _, _ in _stuck_deadlines(state, config)]
    inactivity = _inactivity_deadline(state, config)
    if inactivity is not None:
        deadlines.append(inactivity)
    return min(deadlines, default=None)


def _arm_wake(state: StudentState, now: datetime, config: DomainConfig) -> SetReminder | None:
    """Arm the wake-up reminder (modifying ``state``) when the earliest deadline is before
    the armed one, or none is armed, or the armed one is at or behind ``now`` (an event
    time, or the firing time): a reminder that should have fired by now was lost or is
    the one firing. An armed reminder earlier than the deadline is left alone: it fires
    early and re-arms then."""
    due = next_deadline(state, config)
    armed = state.wake_due
    if due is None or (armed is not None and now < armed <= due):
        return None
    state.wake_due = due
    return SetReminder(name=WAKE_REMINDER, due_at=due, data={"kind": "wake"})


def collapse_turn_effects(effects: Sequence[Effect]) -> tuple[Effect, ...]:
    """One turn's effects, reduced without changing where they lead:

    - reminder changes: the last one per name (setting a reminder twice, or setting then
      cancelling it, ends in the same place);
    - alerts: the first per (kind, topic). The alert table holds one unresolved alert per
      (student, kind, topic), so a later one of the same turn could only be refused.

    Other effects keep their order."""
    last_reminder: dict[str, int] = {}
    for i, effect in enumerate(effects):
        if isinstance(effect, SetReminder | CancelReminder):
            last_reminder[effect.name] = i
    alert_keys: set[tuple[str, str | None]] = set()
    kept: list[Effect] = []
    for i, effect in enumerate(effects):
        if isinstance(effect, SetReminder | CancelReminder):
            if last_reminder[effect.name] != i:
                continue
        elif isinstance(effect, RaiseAlert):
            key = (effect.alert.kind, effect.alert.topic_id)
            if key in alert_keys:
                continue
            alert_keys.add(key)
        kept.append(effect)
    return tuple(kept)


def fire_reminder(
    state: StudentState, name: str, data: dict[str, Any], now: datetime, config: DomainConfig
) -> tuple[StudentState, tuple[Effect, ...]]:
    """A reminder fired at ``now``: raise every time-based alert due by then and arm the
    wake-up for the next deadline. Any reminder name is handled so: ``wake``, and the
    per-exercise and inactivity reminders armed by schema version 2 states, each firing
    once more after the upgrade."""
    del data  # what is due is read from the state, not from the reminder
    new = state.model_copy(deep=True)
    if name == WAKE_REMINDER:
        new.wake_due = None  # a one-shot reminder: spent
    effects: list[Effect] = []
    horizon = now + _EARLY_TOLERANCE
    for deadline, topic_id, exercise_id in _stuck_deadlines(new, config):
        if deadline > horizon:
            continue
        topic = new.topics[topic_id]
        [pending] = [p for p in topic.pending_exercises if p.exercise_id == exercise_id]
        topic.pending_exercises.remove(pending)
        alert = make_alert(
            new.student_id,
            "stuck",
            topic_id,
            "medium",
            {
                "exercise_id": exercise_id,
                "started_at": iso_z(pending.started_at),
                "minutes_without_pass": round(
                    config.for_topic(topic_id).stuck_after.total_seconds() / 60, 2
                ),
            },
            detected_at=now,
            trigger=f"{stuck_reminder_name(topic_id, exercise_id)}|{iso_z(pending.started_at)}",
            trigger_event_id=None,
            rule=rule_of("stuck", config.for_topic(topic_id)),
            evidence=stuck_evidence(new, exercise_id, pending.started_at, pending.event_id, now),
        )
        effects.append(RaiseAlert(alert=alert))
    inactivity = _inactivity_deadline(new, config)
    if inactivity is not None and inactivity <= horizon and new.last_activity is not None:
        last = new.last_activity
        new.inactivity_alerted_for = last
        alert = make_alert(
            new.student_id,
            "inactivity",
            None,
            "low",
            {
                "last_activity": iso_z(last),
                "inactive_days": round((now - last).total_seconds() / 86400, 2),
            },
            detected_at=now,
            trigger=f"inactivity|{iso_z(last)}",
            trigger_event_id=None,
            rule=rule_of("inactivity", config),
            evidence=inactivity_evidence(new, now),
        )
        effects.append(RaiseAlert(alert=alert))
    wake = _arm_wake(new, now, config)
    if wake is not None:
        effects.append(wake)
    if not effects and new.wake_due == state.wake_due:
        return state, ()
    # the state is written again, so its expiry moves: the read model's rows follow
    # (service/readmodel/projection.py drops the rows of expired states)
    effects.append(ProjectProgress())
    return new, tuple(effects)


def expected_reminders(state: StudentState, config: DomainConfig) -> list[dict[str, Any]]:
    """The reminder the state implies is armed (at most the one wake-up; it may be
    armed earlier than the first deadline, and then re-arms itself), with the deadlines
    it serves."""
    if state.wake_due is None:
        return []
    deadlines: list[dict[str, Any]] = [
        {"kind": "stuck", "topic_id": t, "exercise_id": x, "due_at": iso_z(d)}
        for d, t, x in _stuck_deadlines(state, config)
    ]
    inactivity = _inactivity_deadline(state, config)
    if inactivity is not None:
        deadlines.append({"kind": "inactivity", "due_at": iso_z(inactivity)})
    return [
        {
            "name": WAKE_REMINDER,
            "kind": "wake",
            "due_at": iso_z(state.wake_due),
            "deadlines": sorted(deadlines, key=lambda d: str(d["due_at"])),
        }
    ]
