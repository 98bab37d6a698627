"""Calls for one student never overlap inside the app, even when daprd lets a second
call in before the first has finished (it does while placement moves actors); calls
for different students still run side by side.

The actor runs on the SDK's mock actor (in-memory state) whose first state write blocks,
once written, until the test opens a gate: that holds the first call half-way, after
the store has its state and before the call returns, where a second call used to read
and later lose its write.
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import pytest

from actors.effects import AlertCandidate
from actors.events import to_envelope
from actors.state import StudentState
from actors.student_actor import STATE_KEY, StudentProgressActor
from actors.turns import TurnLocks
from tests.unit.factories import mock_student_actor, run


class Outbound:
    async def raise_alerts(self, alerts: list[AlertCandidate]) -> None:
        return None

    async def publish_progress(self, payloads: list[dict[str, Any]]) -> None:
        return None


class FirstSaveBlocks:
    """Installed on actors: their first state write waits for ``gate`` after writing
    (or fails, with ``fail_first``); later writes go straight through."""

    def __init__(self, fail_first: bool = False) -> None:
        self.gate = asyncio.Event()
        self.first_blocked = asyncio.Event()
        self.fail_first = fail_first
        self.calls = 0

    def install(self, monkeypatch: pytest.MonkeyPatch, actor: StudentProgressActor) -> None:
        save = actor._save

        async def blocking_save(state: StudentState) -> None:
            self.calls += 1
            if self.calls == 1 and self.fail_first:
                raise RuntimeError("state store unavailable")
            await save(state)
            if self.calls == 1:
                self.first_blocked.set()
                await self.gate.wait()

        monkeypatch.setattr(actor, "_save", blocking_save)


def _actor(
    monkeypatch: pytest.MonkeyPatch,
    saves: FirstSaveBlocks,
    student_id: str,
    turns: TurnLocks | None = None,
) -> StudentProgressActor:
    actor = mock_student_actor(student_id, Outbound(), turns)
    saves.install(monkeypatch, actor)
    return actor


async def _apply(actor: StudentProgressActor, event_id: str) -> str:
    """ApplyEvents of one successful code run by the actor's own student; its outcome."""
    event = to_envelope(run(False, student=actor.id.id, event_id=event_id))
    result = await actor.apply_events(json.dumps({"events": [event]}))
    outcome: str = result["outcomes"][0]
    return outcome


async def _stored(actor: StudentProgressActor) -> StudentState:
    found, raw = await actor._state_manager.try_get_state(STATE_KEY)
    assert found and isinstance(raw, str)
    return StudentState.model_validate_json(raw)


async def _let_others_run() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_a_second_call_for_the_same_student_waits_and_nothing_is_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    saves = FirstSaveBlocks()
    actor = _actor(monkeypatch, saves, "turn-s1")

    first = asyncio.create_task(_apply(actor, "turn-e1"))
    await saves.first_blocked.wait()
    second = asyncio.create_task(_apply(actor, "turn-e2"))
    await _let_others_run()
    assert not second.done(), "the second call ran while the first was still in the app"

    saves.gate.set()
    results = await asyncio.gather(first, second)

    assert list(results) == ["applied", "applied"]
    state = await _stored(actor)
    assert {"turn-e1", "turn-e2"} <= set(state.recent_event_ids)


async def test_calls_for_different_students_are_not_held_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    saves = FirstSaveBlocks()
    turns = TurnLocks()
    blocked = _actor(monkeypatch, saves, "turn-s2", turns)
    other = _actor(monkeypatch, saves, "turn-s3", turns)

    first = asyncio.create_task(_apply(blocked, "turn-e3"))
    await saves.first_blocked.wait()
    result = await asyncio.wait_for(_apply(other, "turn-e4"), 5)

    assert result == "applied"
    assert not first.done()
    saves.gate.set()
    assert await first == "applied"


async def test_a_failed_call_drops_the_state_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a failure the next call must start from the store, not from a cached state
    that the SDK may have marked as saved without the write having happened."""
    actor = _actor(monkeypatch, FirstSaveBlocks(fail_first=True), "turn-s4")
    cleared: list[str] = []
    clear_cache = actor._state_manager.clear_cache

    async def recording_clear_cache() -> None:
        cleared.append(actor.id.id)
        await clear_cache()

    monkeypatch.setattr(actor._state_manager, "clear_cache", recording_clear_cache)

    with pytest.raises(RuntimeError, match="state store unavailable"):
        await _apply(actor, "turn-e5")
    assert cleared == ["turn-s4"]

    # a call that succeeds keeps the cache (it matches what was saved)
    await _apply(actor, "turn-e6")
    assert cleared == ["turn-s4"]


async def test_locks_are_not_kept_for_students_without_a_call_in_progress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One lock per student ever seen would grow without bound; a lock lives only while a
    call holds or waits for it."""
    turns = TurnLocks()
    for i in range(50):
        actor = mock_student_actor(f"turn-many-{i}", Outbound(), turns)
        await _apply(actor, f"turn-many-e{i}")
    gc.collect()
    assert len(turns) == 0
