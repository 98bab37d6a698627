"""Re-arming wake-up reminders from stored state after a restore (service/ops_backup):
which rows are students, which reminder a state implies, and the registration body."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from actors.config import DomainConfig
from actors.rules import WAKE_REMINDER, apply_event
from actors.state import StudentState
from actors.stored_state import encode_state
from service.ops_backup.rearm import WakeUp, registration_body, student_of_key, wake_ups
from tests.unit.factories import T0, started

CONFIG = DomainConfig()


def test_only_student_state_rows_are_students() -> None:
    assert student_of_key("progress-service||StudentProgressActor||s-1||student") == "s-1"
    assert student_of_key("progress-service||ClassProgressActor||c-1||class") is None
    assert student_of_key("progress-service||StudentProgressActor||s-1||other") is None
    assert student_of_key("progress-service||StudentProgressActor||||student") is None
    assert student_of_key("not a key") is None


def test_a_pending_exercise_implies_one_wake_up_at_its_deadline() -> None:
    state, _ = apply_event(StudentState(student_id="s1"), started("ex1"), CONFIG)
    assert state.wake_due is not None
    [wake] = wake_ups("s1", encode_state(state), CONFIG)
    assert wake == WakeUp("s1", WAKE_REMINDER, "wake", state.wake_due)
    assert wake.due_at == T0 + CONFIG.stuck_after


def test_the_stored_object_form_is_read_too() -> None:
    state, _ = apply_event(StudentState(student_id="s1"), started("ex1"), CONFIG)
    [wake] = wake_ups("s1", json.loads(encode_state(state)), CONFIG)
    assert wake.due_at == state.wake_due


def test_no_deadline_no_reminder() -> None:
    state = StudentState(student_id="s1")
    assert wake_ups("s1", encode_state(state), CONFIG) == []


def test_a_state_it_cannot_read_is_an_error_not_a_silent_skip() -> None:
    with pytest.raises(ValueError, match="schema_version"):
        wake_ups("s1", json.dumps({"schema_version": 999, "min_reader_version": 999}), CONFIG)
    with pytest.raises(ValueError, match="not a JSON object"):
        wake_ups("s1", json.dumps([1, 2]), CONFIG)


def test_registration_is_the_actors_own_reminder() -> None:
    wake = WakeUp("s1", WAKE_REMINDER, "wake", T0 + timedelta(minutes=10))
    body = json.loads(registration_body(wake, now=T0))
    assert body["reminderName"] == WAKE_REMINDER
    assert json.loads(base64.b64decode(body["data"])) == {"kind": "wake"}
    assert body["dueTime"] == "0h10m0s0ms0\u03bcs"
    assert body["failurePolicy"]["constant"]["maxRetries"] == 60
    assert not body.get("period")


def test_a_deadline_already_passed_fires_now() -> None:
    wake = WakeUp("s1", WAKE_REMINDER, "wake", T0)
    body = json.loads(registration_body(wake, now=T0 + timedelta(hours=2)))
    assert body["dueTime"] == "0h0m0s0ms0\u03bcs"
