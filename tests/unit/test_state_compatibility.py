"""State written by the next release is read and written back by this one without loss
(decision 012): the fields it added, at every level, and the effects it left in the
outbox survive a turn of this code; a state that needs a newer reader is refused."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from actors.config import DomainConfig
from actors.effects import AlertCandidate, ErrorSignal
from actors.misconceptions import ClassState, record_signals
from actors.outbox import known_effects, unknown_effects
from actors.rules import apply_events
from actors.state import StudentState
from actors.stored_state import (
    MIN_READER_VERSION,
    SCHEMA_VERSION,
    UnknownSchemaVersion,
    decode_state,
    encode_state,
)
from actors.student_actor import STATE_KEY
from tests.unit.factories import T0, batch_body, mock_student_actor, quiz, run, started

CONFIG = DomainConfig()
NEXT = SCHEMA_VERSION + 1
# What "the next release" adds: a field of its own at every level of the state, and an
# effect kind this code does not know.
UNKNOWN_EFFECT: dict[str, Any] = {"op": "notify_guardian", "channel": "email", "student_id": "nx"}


def written_by_next_release() -> dict[str, Any]:
    """Today's state of a student, as the next release would store it."""
    state, _ = apply_events(
        StudentState(student_id="nx"),
        [quiz(40, student="nx", event_id="nx-1"), started("ex1", student="nx", event_id="nx-2")]
        + [run(True, student="nx", event_id=f"nx-f{i}") for i in range(2)],
        CONFIG,
    )
    doc: dict[str, Any] = json.loads(encode_state(state))
    doc["schema_version"] = NEXT
    doc["min_reader_version"] = SCHEMA_VERSION  # only adds fields: this code may read it
    doc["mastery_probability"] = {"python.loops": 0.41}
    topic = doc["topics"]["python.loops"]
    topic["wheel_spinning"] = True
    topic["quiz_scores"][0]["attempt"] = 2
    topic["pending_exercises"][0]["hint_shown"] = False
    topic["recent_failures"][0]["line"] = 7
    doc["outbox"] = [UNKNOWN_EFFECT]
    return doc


def added_fields(doc: dict[str, Any], pending: bool = True) -> dict[str, Any]:
    """The next release's fields of ``doc`` (``pending``: with the pending exercise's)."""
    topic = doc["topics"]["python.loops"]
    hint = {"hint_shown": topic["pending_exercises"][0]["hint_shown"]} if pending else {}
    return {
        **hint,
        "schema_version": doc["schema_version"],
        "min_reader_version": doc["min_reader_version"],
        "mastery_probability": doc["mastery_probability"],
        "wheel_spinning": topic["wheel_spinning"],
        "attempt": topic["quiz_scores"][0]["attempt"],
        "line": topic["recent_failures"][0]["line"],
    }


def test_added_fields_survive_a_turn_of_this_code() -> None:
    doc = written_by_next_release()
    state = decode_state(json.dumps(doc))
    later = T0 + timedelta(hours=1)
    new, turn = apply_events(state, [quiz(90, student="nx", event_id="nx-9", at=later)], CONFIG)
    assert turn.applied == 1
    written = json.loads(encode_state(new))
    assert added_fields(written) == added_fields(doc)
    assert written["events_applied"] == doc["events_applied"] + 1
    assert [s["value"] for s in written["topics"]["python.loops"]["quiz_scores"]] == [40, 90]


def test_state_that_needs_a_newer_reader_is_refused_with_why() -> None:
    doc = {**written_by_next_release(), "min_reader_version": NEXT}
    with pytest.raises(UnknownSchemaVersion, match=f"needs a reader of version {NEXT}"):
        decode_state(json.dumps(doc))


def test_this_release_writes_what_the_previous_one_reads() -> None:
    written = json.loads(encode_state(StudentState(student_id="s")))
    assert written["schema_version"] == SCHEMA_VERSION
    assert written["min_reader_version"] == MIN_READER_VERSION <= SCHEMA_VERSION
    # a state of this schema version stored by the previous release (no reader field)
    del written["min_reader_version"]
    assert decode_state(json.dumps(written)).min_reader_version == MIN_READER_VERSION


def test_unknown_effects_are_kept_in_order_and_known_ones_performed() -> None:
    progress: dict[str, Any] = {"op": "publish_progress", "payload": {"student_id": "nx"}}
    outbox: list[dict[str, Any]] = [UNKNOWN_EFFECT, progress, {"op": "later_kind"}]
    assert [e.op for e in known_effects(outbox)] == ["publish_progress"]
    assert unknown_effects(outbox) == [UNKNOWN_EFFECT, {"op": "later_kind"}]


def test_class_state_keeps_added_fields() -> None:
    state = ClassState.model_validate({"class_id": "c1", "roster_hash": "abc"})
    signal = ErrorSignal(
        student_id="s1", topic_id="t", error_type="E", occurred_at=T0, event_id="x"
    )
    new, _ = record_signals(state, [signal], 30, CONFIG)
    assert json.loads(new.model_dump_json())["roster_hash"] == "abc"


class Recorder:
    """Outbound that records what the actor performed."""

    def __init__(self) -> None:
        self.progress: list[dict[str, Any]] = []

    async def raise_alerts(self, alerts: list[AlertCandidate]) -> None:
        return None

    async def signal_errors(self, signals: list[ErrorSignal]) -> None:
        return None

    async def project_progress(self, snapshots: list[dict[str, Any]]) -> None:
        return None

    async def publish_progress(self, payloads: list[dict[str, Any]]) -> None:
        self.progress.extend(payloads)


def test_the_actor_writes_back_the_next_releases_fields_and_effects() -> None:
    async def scenario() -> dict[str, Any]:
        outbound = Recorder()
        actor = mock_student_actor("nx", outbound)
        doc = written_by_next_release()
        await actor._state_manager.set_state(STATE_KEY, json.dumps(doc))
        await actor._state_manager.save_state()
        event = quiz(90, student="nx", event_id="nx-9", at=T0 + timedelta(hours=1))
        result = await actor.apply_event_batch(batch_body(event))
        assert result == {"outcomes": ["applied"]}
        assert len(outbound.progress) == 1  # this code performed what it knows
        found, raw = await actor._state_manager.try_get_state(STATE_KEY)
        assert found and isinstance(raw, str)
        written: dict[str, Any] = json.loads(raw)
        assert added_fields(written) == added_fields(doc)
        assert written["outbox"][0] == UNKNOWN_EFFECT  # kept for a release that knows it
        assert {e["op"] for e in written["outbox"][1:]} >= {"publish_progress"}
        return written

    asyncio.run(scenario())
