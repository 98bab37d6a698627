"""Every alert says why it fired: the rule with its version and thresholds, and the
evidence (the events behind it and the facts of its kind)."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

from actors.config import DomainConfig
from actors.effects import FORMER_THRESHOLD_NAMES, AlertCandidate, RaiseAlert, with_current_names
from actors.events import LearningEvent
from actors.evidence import thresholds
from actors.rules import WAKE_REMINDER, apply_event, fire_reminder
from actors.state import FAILURE_WINDOW, StudentState
from actors.stored_state import SCHEMA_VERSION, decode_state
from actors.vocabulary import AlertKind
from service.rulesets.model import RuleSetIn, Thresholds, to_config
from service.settings import Settings
from tests.unit.factories import T0, message, quiz, run, started

CONFIG = DomainConfig()
KINDS: tuple[AlertKind, ...] = get_args(AlertKind)


def alerts_of(
    events: list[LearningEvent], config: DomainConfig = CONFIG
) -> tuple[StudentState, list[AlertCandidate]]:
    state = StudentState(student_id="s1")
    raised = []
    for e in events:
        state, outcome = apply_event(state, e, config)
        raised += outcome.alerts
    return state, raised


def fired(state: StudentState, after: timedelta) -> list[AlertCandidate]:
    _, effects = fire_reminder(state, WAKE_REMINDER, {}, T0 + after, CONFIG)
    return [e.alert for e in effects if isinstance(e, RaiseAlert)]


def fail(error: str, text: str | None = None, minutes: int = 0, **kw: Any) -> LearningEvent:
    return run(True, error, error_message=text, at=T0 + timedelta(minutes=minutes), **kw)


def test_repeated_error_names_the_runs_of_its_type_and_quotes_their_messages() -> None:
    events = [
        fail("NameError", "name 'x' is not defined", 0, exercise_id="ex1"),
        fail("TypeError", "unsupported operand", 1),
        fail("NameError", "name 'y' is not defined", 2, exercise_id="ex2"),
        fail("NameError", "name 'z' is not defined", 3, exercise_id="ex2"),
    ]
    _, [alert] = alerts_of(events)
    assert alert.kind == "repeated_error"
    assert alert.rule == {
        "kind": "repeated_error",
        "version": 0,
        "thresholds": {"repeated_error_count": 3},
    }
    assert alert.evidence == {
        "event_ids": [events[0].event_id, events[2].event_id, events[3].event_id],
        "last_activity": "2026-11-25T12:03:00Z",
        "error_type": "NameError",
        "count": 3,
        "error_types": {"NameError": 3, "TypeError": 1},
        "last_error_messages": [
            "name 'z' is not defined",
            "name 'y' is not defined",
            "name 'x' is not defined",
        ],
        "exercise_ids": ["ex1", "ex2"],
    }
    assert alert.details == {"error_type": "NameError", "count": 3}  # unchanged meaning


def test_failed_executions_names_the_failures_since_the_last_successful_run() -> None:
    before = [fail("ValueError", "bad", 0), run(False, at=T0 + timedelta(minutes=1))]
    streak = [fail(f"E{i}", f"message {i}", 2 + i) for i in range(5)]
    _, [alert] = alerts_of(before + streak)
    assert alert.kind == "failed_executions"
    assert alert.rule is not None and alert.rule["thresholds"] == {"consecutive_failure_count": 5}
    evidence = alert.evidence
    assert evidence is not None
    assert evidence["event_ids"] == [e.event_id for e in streak]
    assert evidence["consecutive_failures"] == 5
    assert evidence["error_types"] == {f"E{i}": 1 for i in range(5)}
    assert evidence["last_error_messages"] == ["message 4", "message 3", "message 2"]


def test_failed_runs_kept_as_evidence_are_bounded_and_messages_cut() -> None:
    long = "x" * 5000
    events = [run(True, None, error_message=long[:4000]) for _ in range(FAILURE_WINDOW + 5)]
    state, _ = alerts_of(events)
    kept = state.topics["python.loops"].recent_failures
    assert [f.event_id for f in kept] == [e.event_id for e in events[-FAILURE_WINDOW:]]
    assert all(f.error_message is not None and len(f.error_message) == 200 for f in kept)


def test_low_quiz_and_help_request_carry_their_event_and_facts() -> None:
    events = [quiz(90), quiz(40, at=T0 + timedelta(minutes=5))]
    _, [low] = alerts_of(events)
    assert low.rule == {
        "kind": "low_quiz",
        "version": 0,
        "thresholds": {"quiz_low_below": 50.0, "quiz_high_below": 25.0},
    }
    assert low.evidence == {
        "event_ids": [events[1].event_id],
        "last_activity": "2026-11-25T12:05:00Z",
        "quiz_id": "q",
        "score": 40,
        "recent_scores": [90, 40],
    }
    help_event = message("Honestly I give up on this one")
    _, [helped] = alerts_of([help_event])
    assert helped.evidence == {
        "event_ids": [help_event.event_id],
        "last_activity": "2026-11-25T12:00:00Z",
        "phrase": "i give up",
        "excerpt": "Honestly I give up on this one",
    }
    assert helped.rule is not None and "i give up" in helped.rule["thresholds"]["help_phrases"]


def test_time_based_alerts_name_the_start_and_the_last_event() -> None:
    start = started("ex9")
    state, _ = alerts_of([start])
    [stuck] = fired(state, timedelta(minutes=25))
    assert stuck.kind == "stuck"
    assert stuck.evidence == {
        "event_ids": [start.event_id],
        "last_activity": "2026-11-25T12:00:00Z",
        "exercise_id": "ex9",
        "started_at": "2026-11-25T12:00:00Z",
        "minutes_without_pass": 25.0,
    }
    last = quiz(80, at=T0 + timedelta(hours=1))
    state, _ = alerts_of([quiz(80), last, quiz(80, at=T0 - timedelta(hours=1))])
    [idle] = fired(state, timedelta(days=3, hours=13))
    assert idle.rule == {"kind": "inactivity", "version": 0, "thresholds": {"inactivity_days": 3.0}}
    assert idle.evidence == {
        "event_ids": [last.event_id],  # the newest activity, not the last delivered
        "last_activity": "2026-11-25T13:00:00Z",
        "inactive_days": 3.5,
    }


def test_the_rule_records_the_configured_thresholds_and_version() -> None:
    config = DomainConfig(repeated_error_count=2, rules_version=7)
    _, [alert] = alerts_of([fail("KeyError"), fail("KeyError", minutes=1)], config)
    assert alert.rule == {
        "kind": "repeated_error",
        "version": 7,
        "thresholds": {"repeated_error_count": 2},
    }


def test_state_saved_before_evidence_is_read_and_its_alerts_name_fewer_events() -> None:
    doc = StudentState(student_id="s1").model_dump(mode="json")
    doc["schema_version"] = 3
    doc["last_activity"] = "2026-11-25T12:00:00Z"
    doc["topics"] = {
        "python.loops": {
            "first_seen": "2026-11-25T12:00:00Z",
            "pending_exercises": [{"exercise_id": "ex1", "started_at": "2026-11-25T12:00:00Z"}],
        }
    }
    for key in ("last_event_id",):
        doc.pop(key)
    state = decode_state(doc)
    assert state.schema_version == SCHEMA_VERSION and state.last_event_id is None
    [stuck] = fired(state, timedelta(minutes=10))
    assert stuck.evidence is not None and stuck.evidence["event_ids"] == []


def _another(value: Any) -> Any:
    """A valid threshold other than ``value``."""
    if isinstance(value, list):
        return [*value, "help me"]
    if isinstance(value, int):
        return value + 1
    return round(value * 2 / 3, 2)


def test_each_threshold_is_named_as_rule_sets_and_settings_name_it() -> None:
    """A rule's thresholds, given back as a rule set, set those very thresholds: one
    name per threshold in rule sets, settings (PROGRESS_ + the name) and alerts."""
    settings_names = {name.upper() for name in Settings.model_fields}
    for kind in KINDS:
        recorded = thresholds(kind, CONFIG)
        assert set(recorded) <= set(Thresholds.model_fields), kind
        assert {name.upper() for name in recorded} <= settings_names, kind
        changed = {name: _another(value) for name, value in recorded.items()}
        rules = RuleSetIn.model_validate({"thresholds": changed})
        assert thresholds(kind, to_config(CONFIG, rules, 1)) == changed, kind


def test_alerts_with_the_former_threshold_names_get_todays() -> None:
    """An alert in the outbox of a state saved before issue 21, or a row written during
    the upgrade by a replica of the release before, reads with today's names."""
    former = {
        "kind": "low_quiz",
        "version": 2,
        "thresholds": {"low_below": 40.0, "high_below": 20.0, "added_later": 1},
    }
    today = {
        "kind": "low_quiz",
        "version": 2,
        "thresholds": {"quiz_low_below": 40.0, "quiz_high_below": 20.0, "added_later": 1},
    }
    assert with_current_names(former) == today
    assert with_current_names(today) == today
    assert with_current_names(None) is None
    _, [alert] = alerts_of([quiz(10)])
    stored = alert.model_dump(mode="json") | {"rule": former}
    assert AlertCandidate.model_validate(stored).rule == today
    # every threshold of the kinds from before issue 21 (a kind added since never had
    # another name)
    assert set(FORMER_THRESHOLD_NAMES.values()) == {
        name for kind in KINDS if kind != "wheel_spinning" for name in thresholds(kind, CONFIG)
    }


def test_migration_0012_renames_what_the_code_renames() -> None:
    path = Path(__file__).parents[2] / "migrations/versions/20261207_0012_threshold_names.py"
    spec = importlib.util.spec_from_file_location("migration_0012", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.RENAMED == FORMER_THRESHOLD_NAMES
    assert (migration.revision, migration.down_revision) == ("0012", "0011")
