"""Calls for one student never overlap inside the app, even when daprd lets a second
call in before the first has finished (it does while placement moves actors); calls
for different students still run side by side.

The actor runs on the SDK's mock actor (in-memory state) with an outbound whose first
publish blocks until the test opens a gate: that holds the first call half-way, after
it saved its state and before it cleared its outbox, where a second call used to read
and later lose its write.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from actors.effects import AlertCandidate, ErrorSignal
from actors.state import StudentState
from actors.student_actor import STATE_KEY, StudentProgressActor
from actors.turns import TurnLocks
from tests.unit.factories import batch_body, mock_student_actor, run


class FirstPublishBlocks:
    """Outbound whose first publish waits for ``gate``; later ones go straight through."""

    def __init__(self, fail_first: bool = False) -> None:
        self.gate = asyncio.Event()
        self.first_blocked = asyncio.Event()
        self.fail_first = fail_first
        self.calls = 0

    async def raise_alerts(self, alerts: list[AlertCandidate]) -> None:
        return None

    async def signal_errors(self, signals: list[ErrorSignal]) -> None:
        return None

    async def project_progress(self, snapshots: list[dict[str, Any]]) -> None:
        return None

    async def publish_progress(self, payloads: list[dict[str, Any]]) -> None:
        self.calls += 1
        if self.calls == 1:
            self.first_blocked.set()
            await self.gate.wait()
            if self.fail_first:
                raise RuntimeError("broker unavailable")


def _install(
    monkeypatch: pytest.MonkeyPatch, fail_first: bool = False, gate_open: bool = False
) -> FirstPublishBlocks:
    outbound = FirstPublishBlocks(fail_first)
    if gate_open:
        outbound.gate.set()
    return outbound


async def _apply(actor: StudentProgressActor, event_id: str) -> str:
    """ApplyEventBatch of one successful code run by the actor's own student; its
    outcome."""
    result = await actor.apply_event_batch(
        batch_body(run(False, student=actor.id.id, event_id=event_id))
    )
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
    outbound = _install(monkeypatch)
    actor = mock_student_actor("turn-s1", outbound)

    first = asyncio.create_task(_apply(actor, "turn-e1"))
    await outbound.first_blocked.wait()
    second = asyncio.create_task(_apply(actor, "turn-e2"))
    await _let_others_run()
    assert not second.done(), "the second call ran while the first was still in the app"

    outbound.gate.set()
    results = await asyncio.gather(first, second)

    assert list(results) == ["applied", "applied"]
    state = await _stored(actor)
    assert {"turn-e1", "turn-e2"} <= set(state.recent_event_ids)
    # the second turn's write replaced the first's outbox (e1's progress update): it
    # holds only the second turn's read model write (its snapshot is taken when performed)
    assert [e["op"] for e in state.outbox] == ["project_progress"]


async def test_calls_for_different_students_are_not_held_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outbound = _install(monkeypatch)
    turns = TurnLocks()
    blocked = mock_student_actor("turn-s2", outbound, turns)
    other = mock_student_actor("turn-s3", outbound, turns)

    first = asyncio.create_task(_apply(blocked, "turn-e3"))
    await outbound.first_blocked.wait()
    result = await asyncio.wait_for(_apply(other, "turn-e4"), 5)

    assert result == "applied"
    assert not first.done()
    outbound.gate.set()
    assert await first == "applied"


async def test_a_failed_call_drops_the_state_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a failure the next call must start from the store, not from a cached state
    that the SDK may have marked as saved without the write having happened."""
    outbound = _install(monkeypatch, fail_first=True, gate_open=True)
    actor = mock_student_actor("turn-s4", outbound)
    cleared: list[str] = []
    clear_cache = actor._state_manager.clear_cache

    async def recording_clear_cache() -> None:
        cleared.append(actor.id.id)
        await clear_cache()

    monkeypatch.setattr(actor._state_manager, "clear_cache", recording_clear_cache)

    with pytest.raises(RuntimeError, match="broker unavailable"):
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
    outbound = _install(monkeypatch, gate_open=True)
    turns = TurnLocks()
    for i in range(50):
        actor = mock_student_actor(f"turn-many-{i}", outbound, turns)
        await _apply(actor, f"turn-many-e{i}")
    gc.collect()
    assert len(turns) == 0
