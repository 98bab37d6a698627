"""One turn per student per batch on the actor (SDK mock actor, in-memory state): one
state write per turn, and after a crash between that write and the effects, the
redelivered batch performs the stored effects once and applies nothing twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actors.effects import AlertCandidate, ErrorSignal
from actors.events import LearningEvent, PoisonEvent, to_envelope
from tests.unit.factories import T0, batch_body, mock_student_actor, quiz, reviewed


class Outbound:
    def __init__(self, fail_publishes: int = 0) -> None:
        self.fail_publishes = fail_publishes
        self.progress: list[str] = []
        self.alerts: dict[str, str] = {}  # like the alert table: one row per alert id
        self.versions: dict[str, int] = {}  # like the read model: newest version per student
        self.signals: set[tuple[str, str, str, str]] = set()  # like class actors: a set

    async def raise_alerts(self, alerts: list[AlertCandidate]) -> None:
        self.alerts |= {a.id: a.kind for a in alerts}

    async def signal_errors(self, signals: list[ErrorSignal]) -> None:
        self.signals |= {(s.student_id, s.topic_id, s.error_type, s.event_id) for s in signals}

    async def project_progress(self, snapshots: list[dict[str, Any]]) -> None:
        for s in snapshots:
            held = self.versions.get(s["student_id"], -1)
            self.versions[s["student_id"]] = max(held, s["version"])

    async def publish_progress(self, payloads: list[dict[str, Any]]) -> None:
        if self.fail_publishes:
            self.fail_publishes -= 1
            raise ConnectionError("broker down")
        self.progress += [p["trigger_event_id"] for p in payloads]


def legacy_batch(*events: LearningEvent) -> str:
    """The previous release's ApplyEvents argument: the same document, as one string."""
    return json.dumps({"events": [to_envelope(e) for e in events]})


def actor_with(monkeypatch: pytest.MonkeyPatch, outbound: Outbound, sid: str) -> Any:
    actor = mock_student_actor(sid, outbound)
    writes: list[int] = []
    save = actor._save

    async def counting_save(state: Any) -> None:
        writes.append(state.events_applied)
        await save(state)

    monkeypatch.setattr(actor, "_save", counting_save)
    counted: Any = actor  # the mock actor, with the list of its writes
    counted.writes = writes
    return counted


EVENTS = [
    quiz(80, event_id="b1", student="batch-s1", at=T0),
    quiz(20, event_id="b2", student="batch-s1", at=T0),  # low quiz alert
    reviewed(70, event_id="b3", student="batch-s1", at=T0),
]


async def test_a_batch_is_one_turn_and_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    outbound = Outbound()
    actor = actor_with(monkeypatch, outbound, "batch-s1")
    result = await actor.apply_event_batch(batch_body(*EVENTS, EVENTS[0]))
    assert result["outcomes"] == ["applied", "applied", "applied", "duplicate"]
    assert actor.writes == [3]
    assert outbound.progress == ["b1", "b2", "b3"] and list(outbound.alerts.values()) == [
        "low_quiz"
    ]
    assert outbound.versions == {"batch-s1": 3}  # one read model snapshot per turn


async def test_the_previous_releases_call_gets_the_same_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ApplyEvents, as an intake of the previous release calls it (decision 019)."""
    outbound = Outbound()
    actor = actor_with(monkeypatch, outbound, "batch-s1")
    result = await actor.apply_events(legacy_batch(*EVENTS, EVENTS[0]))
    assert result["outcomes"] == ["applied", "applied", "applied", "duplicate"]
    assert actor.writes == [3] and outbound.progress == ["b1", "b2", "b3"]


async def test_a_body_not_from_an_intake_is_checked_in_full_and_fails_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The actor builds every event with the models' validator: an invalid event or
    another student's fails the whole call, and nothing is saved or sent."""
    outbound = Outbound()
    actor = actor_with(monkeypatch, outbound, "batch-s1")
    good = json.loads(batch_body(EVENTS[0]))["events"][0]
    for wrong in (
        {**good, "data": {**good["data"], "score": 150}},
        {**good, "data": {**good["data"], "student_id": "batch-s2"}},
        {**good, "type": "exercise.graded"},
    ):
        with pytest.raises(PoisonEvent):
            await actor.apply_event_batch(json.dumps({"events": [good, wrong]}).encode())
    assert actor.writes == [] and outbound.progress == []


async def test_a_crash_between_write_and_effects_performs_them_once_on_redelivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outbound = Outbound(fail_publishes=1)
    actor = actor_with(monkeypatch, outbound, "batch-s1")
    with pytest.raises(ConnectionError):
        await actor.apply_event_batch(batch_body(*EVENTS))
    assert actor.writes == [3] and outbound.progress == []  # saved, effects not done

    again = await actor.apply_event_batch(batch_body(*EVENTS))  # daprd re-sends the batch
    assert again["outcomes"] == ["duplicate"] * 3
    assert actor.writes == [3]  # nothing applied twice, nothing written again
    assert outbound.progress == ["b1", "b2", "b3"] and list(outbound.alerts.values()) == [
        "low_quiz"
    ]

    more = await actor.apply_event_batch(
        batch_body(quiz(90, event_id="b4", student="batch-s1", at=T0))
    )
    assert more["outcomes"] == ["applied"]
    assert outbound.progress == ["b1", "b2", "b3", "b4"]  # the old outbox not performed again
