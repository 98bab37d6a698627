"""Struggle rules and side effects, at their boundaries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest

from actors.config import DomainConfig
from actors.effects import (
    ProjectProgress,
    PublishProgress,
    RaiseAlert,
    SetReminder,
    make_alert,
)
from actors.events import LearningEvent
from actors.rules import (
    WAKE_REMINDER,
    Outcome,
    apply_event,
    fire_reminder,
    stuck_reminder_name,
)
from actors.state import StudentState
from actors.stored_state import decode_state
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


def wakes(effects: Iterable[Any]) -> list[datetime]:
    """Due times of the wake-up reminder armed by ``effects``."""
    return [e.due_at for e in effects if isinstance(e, SetReminder) and e.name == WAKE_REMINDER]


def fire(state: StudentState, at: datetime, name: str = WAKE_REMINDER) -> Any:
    return fire_reminder(state, name, {"kind": "wake"}, at, CONFIG)


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


def test_first_event_arms_the_wake_up_for_inactivity() -> None:
    state, [outcome] = feed([quiz(80)])
    assert (
        wakes(outcome.effects) == [T0 + timedelta(days=3)]
        and state.wake_due == wakes(outcome.effects)[0]
    )


def test_a_start_moves_the_wake_up_earlier_later_starts_and_passes_write_nothing() -> None:
    state, outcomes = feed(
        [
            quiz(80),
            started("ex1"),
            started("ex2", at=T0 + timedelta(minutes=1)),
            submitted("ex1"),
        ]
    )
    assert [wakes(o.effects) for o in outcomes] == [
        [T0 + timedelta(days=3)],
        [T0 + timedelta(minutes=10)],
        [],
        [],
    ]
    assert [p.exercise_id for p in state.topics["python.loops"].pending_exercises] == ["ex2"]


def test_failed_submission_keeps_the_exercise_pending() -> None:
    state, [_, outcome] = feed([started("ex1"), submitted("ex1", passed=False)])
    assert outcome.effects == () or not wakes(outcome.effects)
    assert len(state.topics["python.loops"].pending_exercises) == 1


def test_wake_up_raises_stuck_once_and_arms_for_the_next_deadline() -> None:
    state, _ = feed([started("ex1"), started("ex2", at=T0 + timedelta(minutes=5))])
    state, effects = fire(state, T0 + timedelta(minutes=10))
    [alert] = [e.alert for e in effects if isinstance(e, RaiseAlert)]
    assert (alert.kind, alert.severity, alert.details["exercise_id"]) == ("stuck", "medium", "ex1")
    assert wakes(effects) == [T0 + timedelta(minutes=15)]
    # an early second firing raises nothing again and re-arms for ex2
    _, again = fire(state, T0 + timedelta(minutes=11))
    assert [type(e) for e in again] == [SetReminder, ProjectProgress]
    state, effects = fire(state, T0 + timedelta(minutes=15))
    assert [e.alert.details["exercise_id"] for e in effects if isinstance(e, RaiseAlert)] == ["ex2"]
    assert wakes(effects) == [T0 + timedelta(minutes=5, days=3)]  # inactivity next


def test_wake_up_after_a_pass_raises_nothing_and_arms_for_inactivity() -> None:
    state, _ = feed([started("ex1"), submitted("ex1")])
    _, effects = fire(state, T0 + timedelta(minutes=10))
    assert [type(e) for e in effects] == [SetReminder, ProjectProgress]
    assert wakes(effects) == [T0 + timedelta(days=3)]


def test_start_of_already_passed_exercise_arms_nothing() -> None:
    state, [_, outcome] = feed([submitted("ex1"), started("ex1", at=T0 - timedelta(minutes=5))])
    assert wakes(outcome.effects) == []
    assert state.topics["python.loops"].pending_exercises == []


def test_inactivity_is_armed_once_and_raised_once_per_idle_spell() -> None:
    state, outcomes = feed(
        [quiz(80), quiz(80, at=T0 + timedelta(hours=1)), quiz(80, at=T0 - timedelta(hours=1))]
    )
    assert [wakes(o.effects) for o in outcomes] == [[T0 + timedelta(days=3)], [], []]
    # fires at the armed time: the newer event moved the deadline by an hour
    moved, effects = fire(state, T0 + timedelta(days=3))
    assert [type(e) for e in effects] == [SetReminder, ProjectProgress]
    assert moved.wake_due == T0 + timedelta(days=3, hours=1)
    # fires at the deadline: the alert; nothing else is pending, so nothing is armed
    fired, (alert, projected) = fire(moved, T0 + timedelta(days=3, hours=1))
    assert isinstance(projected, ProjectProgress)  # the state is written: its rows follow
    assert isinstance(alert, RaiseAlert) and alert.alert.kind == "inactivity"
    assert fired.wake_due is None and fired.inactivity_alerted_for == T0 + timedelta(hours=1)
    # a later firing (a reminder armed by an older version) raises nothing
    assert fire(fired, T0 + timedelta(days=5), name="inactivity") == (fired, ())
    # the next event starts a new idle spell
    _, again = apply_event(fired, quiz(70, at=T0 + timedelta(days=4)), CONFIG)
    assert wakes(again.effects) == [T0 + timedelta(days=7)]


def test_wake_up_is_armed_again_when_it_should_have_fired_already() -> None:
    state, _ = feed([quiz(80)])
    _, later = apply_event(state, quiz(80, at=T0 + timedelta(days=5)), CONFIG)
    assert wakes(later.effects) == [T0 + timedelta(days=8)]


def test_inactivity_fires_only_after_the_threshold() -> None:
    state, _ = feed([quiz(80)])
    _, early = fire(state, T0 + timedelta(days=2))
    assert [type(e) for e in early] == [SetReminder, ProjectProgress]  # re-armed, no alert
    _, due = fire(state, T0 + timedelta(days=3))
    effect, _ = due
    assert isinstance(effect, RaiseAlert)
    assert effect.alert.kind == "inactivity" and effect.alert.severity == "low"
    assert effect.alert.topic_id is None


def test_a_reminder_armed_by_schema_version_2_fires_as_a_wake_up() -> None:
    """A version 2 state, its per-exercise reminder firing after the upgrade: the stuck
    alert has the id version 2 gave it, and the wake-up is armed for what is left."""
    started_at = "2026-11-25T10:00:00Z"
    doc = {
        "schema_version": 2,
        "student_id": "s1",
        "topics": {
            "python.loops": {
                "first_seen": started_at,
                "pending_exercises": [
                    {
                        "exercise_id": "ex1",
                        "started_at": started_at,
                        "reminder": stuck_reminder_name("python.loops", "ex1"),
                    }
                ],
            }
        },
        "last_activity": started_at,
        "inactivity_due": "2026-11-28T10:00:00Z",
    }
    state = decode_state(doc)
    assert state.wake_due is None
    at = datetime.fromisoformat(started_at) + timedelta(minutes=10)
    name = stuck_reminder_name("python.loops", "ex1")
    new, effects = fire(state, at, name=name)
    [alert] = [e.alert for e in effects if isinstance(e, RaiseAlert)]
    v2_id = make_alert(
        "s1",
        "stuck",
        "python.loops",
        "medium",
        {},
        detected_at=at,
        trigger=f"{name}|{started_at}",
        trigger_event_id=None,
    ).id
    assert alert.id == v2_id
    assert wakes(effects) == [datetime.fromisoformat(started_at) + timedelta(days=3)]
    assert new.wake_due == wakes(effects)[0]


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
