"""Struggle rules and side effects, at their boundaries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest

from actors.config import DomainConfig
from actors.effects import CancelReminder, PublishProgress, RaiseAlert, SetReminder
from actors.engine import INACTIVITY_REMINDER, Outcome, apply_event, fire_reminder
from actors.events import LearningEvent
from actors.state import StudentState
from tests.unit.factories import T0, message, quiz, reviewed, run, started, submitted

CONFIG = DomainConfig()


def feed(
    events: Iterable[LearningEvent],
    state: StudentState | None = None,
    config: DomainConfig = CONFIG,
) -> tuple[StudentState, list[Outcome]]:
    state = state or StudentState(student_id="s1")
    outcomes = []
    for e in events:
        state, outcome = apply_event(state, e, config)
        outcomes.append(outcome)
    return state, outcomes


def kinds(outcomes: list[Outcome]) -> list[list[str]]:
    return [[a.kind for a in o.alerts] for o in outcomes]


def stuck_name(outcome: Outcome) -> str:
    return next(
        e.name for e in outcome.effects if isinstance(e, SetReminder) and e.name.startswith("stuck")
    )


def test_repeated_error_fires_on_third_not_fourth() -> None:
    _, outcomes = feed([run(True) for _ in range(4)])
    assert kinds(outcomes) == [[], [], ["repeated_error"], []]
    alert = outcomes[2].alerts[0]
    assert alert.severity == "medium" and alert.details == {"error_type": "NameError", "count": 3}


def test_repeated_error_counts_each_error_type_and_resets_on_success() -> None:
    events = [
        run(True, "NameError"),
        run(True, "TypeError"),
        run(True, "NameError"),
        run(False),
        run(True, "NameError"),
        run(True, "NameError"),
    ]
    _, outcomes = feed(events)
    assert all(k == [] for k in kinds(outcomes))
    _, outcomes = feed([*events, run(True, "NameError")])
    assert kinds(outcomes)[-1] == ["repeated_error"]


def test_repeated_error_is_per_topic() -> None:
    events = [run(True, topic="a"), run(True, topic="b"), run(True, topic="a")]
    _, outcomes = feed(events)
    assert all(k == [] for k in kinds(outcomes))


def test_failed_executions_fires_on_fifth_consecutive() -> None:
    errors = ["A", "B", "C", "D", "E", "F"]
    _, outcomes = feed([run(True, e) for e in errors])
    assert kinds(outcomes) == [[], [], [], [], ["failed_executions"], []]


def test_success_resets_consecutive_failures() -> None:
    events = [run(True, e) for e in "ABCD"] + [run(False)] + [run(True, e) for e in "EFGH"]
    _, outcomes = feed(events)
    assert all(k == [] for k in kinds(outcomes))


def test_failure_without_error_type_counts_as_consecutive_only() -> None:
    _, outcomes = feed([run(True, None) for _ in range(5)])
    assert kinds(outcomes)[-1] == ["failed_executions"]
    assert all("repeated_error" not in k for k in kinds(outcomes))


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (50, []),
        (49, ["low"]),
        (49.9, ["low"]),
        (25, ["low"]),
        (24, ["high"]),
        (0, ["high"]),
    ],
)
def test_low_quiz_thresholds(score: float, expected: list[str]) -> None:
    _, [outcome] = feed([quiz(score)])
    assert [a.severity for a in outcome.alerts] == expected
    assert all(a.kind == "low_quiz" for a in outcome.alerts)


@pytest.mark.parametrize(
    "text",
    [
        "I'm stuck",
        "i am STUCK on this",
        "I don\u2019t understand loops",
        "ok I give up",
        "I'm   lost",
    ],
)
def test_help_request_phrases(text: str) -> None:
    _, [outcome] = feed([message(text)])
    assert [(a.kind, a.severity) for a in outcome.alerts] == [("help_request", "high")]


def test_help_request_keeps_topic_when_given() -> None:
    _, [outcome] = feed([message("I give up", topic="python.loops")])
    assert outcome.alerts[0].topic_id == "python.loops"


def test_ordinary_message_raises_nothing() -> None:
    _, [outcome] = feed([message("What does range(3) return?")])
    assert outcome.alerts == []


def test_help_phrases_are_configurable() -> None:
    config = DomainConfig(help_phrases=("halp",))
    _, [a, b] = feed([message("HALP please"), message("I'm stuck")], config=config)
    assert len(a.alerts) == 1 and b.alerts == []


def test_exercise_started_arms_stuck_reminder_and_pass_cancels_it() -> None:
    state, [arm, cancel] = feed([started("ex1"), submitted("ex1")])
    [reminder] = [e for e in arm.effects if isinstance(e, SetReminder) and e.name != "inactivity"]
    assert reminder.due_at == T0 + timedelta(minutes=10)
    assert [e.name for e in cancel.effects if isinstance(e, CancelReminder)] == [reminder.name]
    assert state.topics["python.loops"].pending_exercises == []


def test_failed_submission_does_not_cancel_stuck() -> None:
    state, [_, outcome] = feed([started("ex1"), submitted("ex1", passed=False)])
    assert not any(isinstance(e, CancelReminder) for e in outcome.effects)
    assert len(state.topics["python.loops"].pending_exercises) == 1


def test_stuck_reminder_fires_alert_once() -> None:
    state, [arm] = feed([started("ex1")])
    name = next(
        e.name for e in arm.effects if isinstance(e, SetReminder) and e.name != "inactivity"
    )
    data = {"kind": "stuck", "topic_id": "python.loops", "exercise_id": "ex1"}
    state, effects = fire_reminder(state, name, data, T0 + timedelta(minutes=10), CONFIG)
    [alert] = [e.alert for e in effects]  # type: ignore[union-attr]
    assert (alert.kind, alert.severity, alert.details["exercise_id"]) == ("stuck", "medium", "ex1")
    _, again = fire_reminder(state, name, data, T0 + timedelta(minutes=11), CONFIG)
    assert again == ()


def test_stuck_reminder_after_pass_raises_nothing() -> None:
    state, [arm, _] = feed([started("ex1"), submitted("ex1")])
    name = next(
        e.name for e in arm.effects if isinstance(e, SetReminder) and e.name != "inactivity"
    )
    _, effects = fire_reminder(
        state,
        name,
        {"kind": "stuck", "topic_id": "python.loops"},
        T0 + timedelta(minutes=10),
        CONFIG,
    )
    assert effects == ()


def test_start_of_already_passed_exercise_arms_nothing() -> None:
    _, [_, outcome] = feed([submitted("ex1"), started("ex1", at=T0 - timedelta(minutes=5))])
    assert not any(
        isinstance(e, SetReminder) and e.name.startswith("stuck") for e in outcome.effects
    )


def _inactivity_due(effects: Any) -> list[datetime]:
    return [
        e.due_at for e in effects if isinstance(e, SetReminder) and e.name == INACTIVITY_REMINDER
    ]


def test_inactivity_is_armed_once_and_follows_the_deadline_when_it_fires_early() -> None:
    state, outcomes = feed(
        [quiz(80), quiz(80, at=T0 + timedelta(hours=1)), quiz(80, at=T0 - timedelta(hours=1))]
    )
    assert [_inactivity_due(o.effects) for o in outcomes] == [[T0 + timedelta(days=3)], [], []]
    data = {"kind": "inactivity"}
    # fires at the armed time: the newer event moved the deadline by an hour
    moved, effects = fire_reminder(state, "inactivity", data, T0 + timedelta(days=3), CONFIG)
    assert _inactivity_due(effects) == [T0 + timedelta(days=3, hours=1)]
    assert moved.inactivity_due == T0 + timedelta(days=3, hours=1)
    # fires at the deadline: the alert, and the reminder is disarmed
    fired, [alert] = fire_reminder(
        moved, "inactivity", data, T0 + timedelta(days=3, hours=1), CONFIG
    )
    assert isinstance(alert, RaiseAlert) and fired.inactivity_due is None
    # the next event arms it again
    _, again = apply_event(fired, quiz(70, at=T0 + timedelta(days=4)), CONFIG)
    assert _inactivity_due(again.effects) == [T0 + timedelta(days=7)]


def test_inactivity_reminder_is_armed_again_when_it_should_have_fired_already() -> None:
    state, _ = feed([quiz(80)])
    _, later = apply_event(state, quiz(80, at=T0 + timedelta(days=5)), CONFIG)
    assert _inactivity_due(later.effects) == [T0 + timedelta(days=8)]


def test_inactivity_fires_only_after_the_threshold() -> None:
    state, _ = feed([quiz(80)])
    data = {"kind": "inactivity"}
    _, early = fire_reminder(state, "inactivity", data, T0 + timedelta(days=2), CONFIG)
    assert [type(e) for e in early] == [SetReminder]  # re-armed, no alert
    _, due = fire_reminder(state, "inactivity", data, T0 + timedelta(days=3), CONFIG)
    [effect] = due
    assert effect.alert.kind == "inactivity" and effect.alert.severity == "low"  # type: ignore[union-attr]
    assert effect.alert.topic_id is None  # type: ignore[union-attr]


def test_alert_ids_are_deterministic_per_cause() -> None:
    _, [a] = feed([quiz(10, event_id="q-1")])
    _, [b] = feed([quiz(10, event_id="q-1")])
    _, [c] = feed([quiz(10, event_id="q-2")])
    assert a.alerts[0].id == b.alerts[0].id != c.alerts[0].id


def test_progress_published_only_when_a_score_changes() -> None:
    _, outcomes = feed(
        [submitted("ex1"), submitted("ex1"), reviewed(80), message("hello", topic=None)]
    )
    published = [[e for e in o.effects if isinstance(e, PublishProgress)] for o in outcomes]
    assert [len(p) for p in published] == [1, 0, 1, 0]
    payload = published[0][0].payload
    assert payload["student_id"] == "s1" and payload["topics"][0]["previous_score"] is None
    assert published[2][0].payload["topics"][0]["previous_score"] == payload["topics"][0]["score"]


def test_curriculum_target_per_topic() -> None:
    config = DomainConfig(exercise_targets={"python.loops": 2})
    state, _ = feed([submitted("a"), submitted("b"), submitted("c")], config=config)
    from actors.progress_view import mastery_by_topic

    assert mastery_by_topic(state, config)["python.loops"].components.exercise_completion == 100
