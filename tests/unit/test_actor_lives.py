"""The actor's side of the read model following the state's expiry (issue 21, defect
5.9): every save sets the TTL and records when, reminder turns included, and writes a
snapshot saying so; an activation kept alive past the state's expiry reads the store
again, so it answers 404 and the next event begins a new life whose first snapshot
carries every topic.

The actor runs on the SDK's mock actor (in-memory state); the store's expiry is the
state taken out of the mock store, as daprd would drop it, while the SDK's cache in the
actor object still holds it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from actors.effects import AlertCandidate, ErrorSignal
from actors.events import LearningEvent
from actors.rules import WAKE_REMINDER
from actors.state import StudentState
from actors.student_actor import STATE_KEY, STATE_RECHECK, StudentProgressActor
from actors.vocabulary import iso_z
from tests.unit.factories import T0, batch_body, mock_student_actor, quiz, reviewed

TTL_S = 30 * 24 * 3600


class Recorder:
    """Outbound that keeps what it is given."""

    def __init__(self) -> None:
        self.snapshots: list[dict[str, Any]] = []
        self.alerts: list[AlertCandidate] = []
        self.progress: list[dict[str, Any]] = []

    async def raise_alerts(self, alerts: list[AlertCandidate]) -> None:
        self.alerts += alerts

    async def signal_errors(self, signals: list[ErrorSignal]) -> None:
        return None

    async def project_progress(self, snapshots: list[dict[str, Any]]) -> None:
        self.snapshots += snapshots

    async def publish_progress(self, payloads: list[dict[str, Any]]) -> None:
        self.progress += payloads


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _actor(
    student_id: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[StudentProgressActor, Recorder, Clock, list[tuple[dict[str, Any], int | None]]]:
    """The actor, its outbound, its clock, and every state it saved with its TTL."""
    outbound, clock = Recorder(), Clock(T0)
    actor = mock_student_actor(student_id, outbound)
    actor._deps.clock = clock
    actor._deps.state_ttl_s = TTL_S
    saves: list[tuple[dict[str, Any], int | None]] = []
    manager = actor._state_manager
    set_state_ttl = manager.set_state_ttl

    async def recording(name: str, value: Any, ttl_in_seconds: int | None) -> None:
        saves.append((json.loads(value), ttl_in_seconds))
        await set_state_ttl(name, value, ttl_in_seconds)

    monkeypatch.setattr(manager, "set_state_ttl", recording)
    return actor, outbound, clock, saves


async def _apply(actor: StudentProgressActor, *events: LearningEvent) -> list[str]:
    outcomes: list[str] = (await actor.apply_event_batch(batch_body(*events)))["outcomes"]
    return outcomes


def _expire_in_store(actor: StudentProgressActor) -> None:
    """What daprd does when the TTL runs out: the stored state is gone (the SDK's cache in
    the actor object is not told)."""
    del actor._state_manager._mock_state[STATE_KEY]  # type: ignore[attr-defined]


async def test_a_reminder_turn_saves_with_the_ttl_and_writes_a_snapshot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The inactivity wake-up writes the state (its TTL starts again), so it writes the
    read model's snapshot too: same version, the new save time, which the read model
    keeps as the rows' time (their expiry follows the state's)."""
    actor, outbound, clock, saves = _actor("life-r1", monkeypatch)
    await _apply(actor, quiz(80, student="life-r1", event_id="r1-e1", at=T0))
    [(first, ttl)] = saves
    assert ttl == TTL_S and first["saved_at"] == iso_z(T0) and first["life"] == "r1-e1"
    [shot] = outbound.snapshots
    assert (shot["version"], shot["life"], shot["saved_at"]) == (1, "r1-e1", iso_z(T0))

    clock.now = due = T0 + timedelta(days=3)
    await actor.receive_reminder(WAKE_REMINDER, b"{}", timedelta(0), timedelta(0))
    assert [a.kind for a in outbound.alerts] == ["inactivity"]
    (_, _), (second, ttl) = saves
    assert ttl == TTL_S and second["saved_at"] == iso_z(due)
    _, reminder_shot = outbound.snapshots
    assert (reminder_shot["version"], reminder_shot["life"], reminder_shot["saved_at"]) == (
        1,
        "r1-e1",
        iso_z(due),
    )
    # a firing that changes nothing saves nothing and writes no snapshot
    clock.now = due + timedelta(hours=1)
    await actor.receive_reminder(WAKE_REMINDER, b"{}", timedelta(0), timedelta(0))
    assert len(saves) == 2 and len(outbound.snapshots) == 2


async def test_an_activation_kept_alive_past_the_expiry_forgets_the_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Calls kept the activation alive for the state's whole TTL without a save: once
    the TTL has run out since the save it reads the store, finds nothing (404), and the
    next event begins a new life whose snapshot carries every topic, not only those
    that changed since this object's last write."""
    actor, outbound, clock, _ = _actor("life-a1", monkeypatch)
    await _apply(
        actor,
        quiz(80, student="life-a1", event_id="a1-e1", at=T0),
        reviewed(4, student="life-a1", event_id="a1-e2", at=T0, topic="python.functions"),
    )
    _expire_in_store(actor)
    clock.now = T0 + timedelta(seconds=TTL_S - 1)  # the copy is trusted until the TTL
    assert (await actor.get_progress())["found"]
    clock.now = T0 + timedelta(seconds=TTL_S)
    assert await actor.get_progress() == {"found": False}

    back = T0 + timedelta(days=40)
    clock.now = back
    # the same result as in the old life: a snapshot of changed topics would leave it out
    await _apply(actor, quiz(80, student="life-a1", event_id="a1-e9", at=back))
    new_life = outbound.snapshots[-1]
    assert (new_life["version"], new_life["life"], new_life["saved_at"]) == (
        1,
        "a1-e9",
        iso_z(back),
    )
    old_loops = [t for t in outbound.snapshots[0]["topics"] if t["topic_id"] == "python.loops"]
    assert new_life["topics"] == old_loops


async def test_a_state_whose_save_time_is_unknown_is_read_again_hourly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A state saved before save times were recorded (or by an older release) may expire
    any time: the activation reads the store again every STATE_RECHECK. Found as it
    was, its outbox is not performed again; gone, the state is gone here too."""
    actor, outbound, clock, saves = _actor("life-l1", monkeypatch)
    legacy = StudentState(student_id="life-l1", events_applied=12)
    legacy.outbox = [{"op": "project_progress"}]
    store = actor._state_manager._mock_state  # type: ignore[attr-defined]
    store[STATE_KEY] = legacy.model_dump_json()

    # a firing with nothing due: the stored outbox is performed, nothing is saved
    await actor.receive_reminder(WAKE_REMINDER, b"{}", timedelta(0), timedelta(0))
    [shot] = outbound.snapshots
    assert (shot["version"], shot["life"], shot["saved_at"]) == (12, None, None)
    assert saves == []

    clock.now = T0 + STATE_RECHECK  # read again: the same state, outbox already done
    await actor.receive_reminder(WAKE_REMINDER, b"{}", timedelta(0), timedelta(0))
    assert len(outbound.snapshots) == 1

    del store[STATE_KEY]  # it expires
    clock.now = T0 + STATE_RECHECK + STATE_RECHECK / 2  # trusted until the next check
    assert (await actor.get_progress())["found"]
    clock.now = T0 + 2 * STATE_RECHECK
    assert await actor.get_progress() == {"found": False}
