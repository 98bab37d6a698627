"""One turn per student per batch on the actor (SDK mock actor, in-memory state): one
state write per turn, the delivery answered once it is saved, and after a crash before
the effects were confirmed, the next activation performs every stored effect (those of
earlier turns still unconfirmed too) and applies nothing twice."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from actors.effects import AlertCandidate
from actors.events import LearningEvent, to_envelope
from tests.unit.factories import T0, mock_student_actor, quiz, reviewed


class Outbound:
    def __init__(self, fail_publishes: int = 0) -> None:
        self.fail_publishes = fail_publishes
        self.progress: list[str] = []
        self.alerts: dict[str, str] = {}  # like the alert table: one row per alert id

    async def raise_alerts(self, alerts: list[AlertCandidate]) -> None:
        self.alerts |= {a.id: a.kind for a in alerts}

    async def publish_progress(self, payloads: list[dict[str, Any]]) -> None:
        if self.fail_publishes:
            self.fail_publishes -= 1
            raise ConnectionError("broker down")
        self.progress += [p["trigger_event_id"] for p in payloads]


def batch(*events: LearningEvent) -> str:
    return json.dumps({"events": [to_envelope(e) for e in events]})


def actor_with(
    monkeypatch: pytest.MonkeyPatch,
    outbound: Outbound,
    sid: str,
    stored: dict[str, Any] | None = None,
) -> Any:
    actor = mock_student_actor(sid, outbound, stored=stored)
    writes: list[int] = []
    save = actor._save

    async def counting_save(state: Any) -> None:
        writes.append(state.events_applied)
        await save(state)

    monkeypatch.setattr(actor, "_save", counting_save)
    counted: Any = actor  # the mock actor, with the list of its writes
    counted.writes = writes
    return counted


async def crash(actor: Any) -> dict[str, Any]:
    """The process dies: its pump stops; what survives is the stored state."""
    await actor._deps.pump.drain(timeout_s=0)
    return dict(actor._state_manager._mock_state)


async def settled(actor: Any) -> None:
    await asyncio.wait_for(actor._deps.pump.settled(actor.id.id), 5)


EVENTS = [
    quiz(80, event_id="b1", student="batch-s1", at=T0),
    quiz(20, event_id="b2", student="batch-s1", at=T0),  # low quiz alert
    reviewed(70, event_id="b3", student="batch-s1", at=T0),
]


async def test_a_batch_is_one_turn_and_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    outbound = Outbound()
    actor = actor_with(monkeypatch, outbound, "batch-s1")
    result = await actor.apply_events(batch(*EVENTS, EVENTS[0]))
    assert result["outcomes"] == ["applied", "applied", "applied", "duplicate"]
    assert actor.writes == [3]
    await settled(actor)
    assert outbound.progress == ["b1", "b2", "b3"] and list(outbound.alerts.values()) == [
        "low_quiz"
    ]


async def test_a_turn_answers_once_saved_and_its_effects_follow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The broker fails: the turn still returns (its state is saved), the pump retries the
    publish and it goes out once the broker answers."""
    outbound = Outbound(fail_publishes=1)
    actor = actor_with(monkeypatch, outbound, "batch-s1")
    actor._deps.pump._first_retry_s = 0.01
    result = await actor.apply_events(batch(*EVENTS))
    assert result["outcomes"] == ["applied"] * 3 and outbound.progress == []
    await settled(actor)
    assert outbound.progress == ["b1", "b2", "b3"]


async def test_a_crash_before_the_effects_performs_them_once_on_redelivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    down = Outbound(fail_publishes=10**6)
    actor = actor_with(monkeypatch, down, "batch-s1")
    result = await actor.apply_events(batch(*EVENTS))
    assert result["outcomes"] == ["applied"] * 3 and actor.writes == [3]
    stored = await crash(actor)
    assert down.progress == []  # saved, effects not performed

    outbound = Outbound()
    revived = actor_with(monkeypatch, outbound, "batch-s1", stored)
    again = await revived.apply_events(batch(*EVENTS))  # daprd re-sends the batch
    assert again["outcomes"] == ["duplicate"] * 3
    assert revived.writes == []  # nothing applied twice, nothing written again
    await settled(revived)
    assert outbound.progress == ["b1", "b2", "b3"] and list(outbound.alerts.values()) == [
        "low_quiz"
    ]

    more = await revived.apply_events(batch(quiz(90, event_id="b4", student="batch-s1", at=T0)))
    assert more["outcomes"] == ["applied"]
    await settled(revived)
    assert outbound.progress == ["b1", "b2", "b3", "b4"]  # the old outbox not performed again


async def test_effects_unconfirmed_by_earlier_turns_survive_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Turn 1's publish has not gone out when turn 2 saves: turn 2's outbox carries it,
    so a crash after turn 2 loses neither."""
    down = Outbound(fail_publishes=10**6)
    actor = actor_with(monkeypatch, down, "batch-s1")
    await actor.apply_events(batch(*EVENTS))
    await actor.apply_events(batch(quiz(90, event_id="b4", student="batch-s1", at=T0)))
    stored = await crash(actor)

    outbound = Outbound()
    revived = actor_with(monkeypatch, outbound, "batch-s1", stored)
    again = await revived.apply_events(batch(quiz(90, event_id="b4", student="batch-s1", at=T0)))
    assert again["outcomes"] == ["duplicate"]
    await settled(revived)
    assert outbound.progress == ["b1", "b2", "b3", "b4"]
    assert list(outbound.alerts.values()) == ["low_quiz"]
