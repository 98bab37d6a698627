"""The intake's decisions on one bulk delivery: what is poison (with a readable reason),
how a batch is grouped and split per student, and which entries are answered RETRY when
a student's call fails (that one and every later one of the same student, so order
holds). Pure logic: the actor calls and the dead-letter publish are recorded in memory
here; tests/integration/test_batches.py runs the same paths on the real stack."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from actors.event_batch import decode_batch
from actors.events import PoisonEvent
from service.actorhost.intake import Accepted, Intake, decode_entry, group_by_student, split_calls
from service.dapr.sidecar import SidecarError

GOOD = {
    "event_id": "e1",
    "student_id": "s1",
    "occurred_at": "2026-11-25T10:00:00Z",
    "topic_id": "python.loops",
    "quiz_id": "q",
    "score": 70,
}


def cloud(data: Any, event_type: str = "exercise.quiz_graded", **extra: Any) -> dict[str, Any]:
    return {"type": event_type, "data": data, **extra}


def test_cloud_event_is_decoded_with_its_trace_id() -> None:
    trace = "0af7651916cd43dd8448eb211c80319c"
    entry = decode_entry("1", cloud(GOOD, traceparent=f"00-{trace}-b7ad6b7169203331-01"), 65536)
    assert (entry.event_id, entry.type, entry.trace_id) == ("e1", "exercise.quiz_graded", trace)
    assert (entry.student_id, entry.data) == ("s1", GOOD)
    # encoded once, here: the size, the actor call's body and the event log use this text
    assert entry.data_json == json.dumps(GOOD, separators=(",", ":"))
    assert entry.size == len(entry.data_json)


def test_json_sent_as_text_is_accepted() -> None:
    text = json.dumps(GOOD)
    entry = decode_entry("1", cloud(text), 65536)
    assert (entry.event_id, entry.data) == ("e1", GOOD)
    assert json.loads(entry.data_json) == GOOD  # the object's text, for the actor
    assert entry.size == len(json.dumps(text, separators=(",", ":")))  # as it arrived


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ([1, 2], "not a CloudEvent object"),
        (cloud("plain text"), "not a JSON object"),
        (cloud(GOOD, "com.dapr.event.sent"), "unknown event type"),
        (cloud({**GOOD, "pad": "x" * 70000}), "exceeds"),
        (cloud({**GOOD, "score": 150}), "score"),
    ],
)
def test_poison(event: Any, reason: str) -> None:
    with pytest.raises(PoisonEvent) as info:
        decode_entry("1", event, 65536)
    assert reason in info.value.reason


def accepted(entry_id: str, student: str, size: int = 100) -> Accepted:
    data = {**GOOD, "event_id": f"ev-{entry_id}", "student_id": student}
    return Accepted(
        entry_id,
        f"ev-{entry_id}",
        student,
        "exercise.quiz_graded",
        data,
        json.dumps(data, separators=(",", ":")),
        size,
        None,
    )


def test_grouping_keeps_each_students_order() -> None:
    entries = [accepted("1", "a"), accepted("2", "b"), accepted("3", "a"), accepted("4", "a")]
    groups = group_by_student(entries)
    assert {k: [e.entry_id for e in v] for k, v in groups.items()} == {
        "a": ["1", "3", "4"],
        "b": ["2"],
    }


def test_calls_are_split_by_size_in_order() -> None:
    entries = [accepted(str(i), "a", size) for i, size in enumerate([400, 400, 400, 900, 10])]
    chunks = split_calls(entries, 1000)
    assert [[e.entry_id for e in c] for c in chunks] == [["0", "1"], ["2"], ["3", "4"]]


class Actors:
    """Records each call, its body read as the student's actor reads it; a student in
    ``fail_on`` fails its n-th call (1-based)."""

    def __init__(self, fail_on: dict[str, int]) -> None:
        self.fail_on = fail_on
        self.calls: list[tuple[str, list[str]]] = []
        self.trace_ids: list[list[str]] = []

    async def apply_event_batch(self, student_id: str, body: bytes) -> dict[str, Any]:
        events, trace_ids = decode_batch(body, student_id)
        ids = [e.event_id for e in events]
        self.calls.append((student_id, ids))
        self.trace_ids.append(trace_ids)
        if sum(1 for s, _ in self.calls if s == student_id) == self.fail_on.get(student_id):
            raise ConnectionError("state store down")
        return {"outcomes": ["applied"] * len(ids)}


class DeadLetters:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.published: list[dict[str, Any]] = []

    async def publish_bulk(self, topic: str, messages: list[tuple[str, dict[str, Any]]]) -> None:
        if self.fail:
            raise SidecarError("broker down")
        self.published += [m for _, m in messages]


def entry(entry_id: str, student: str, pad: int = 0, **data: Any) -> dict[str, Any]:
    body = {**GOOD, "event_id": f"ev-{entry_id}", "student_id": student, **data}
    if pad:
        body["pad"] = "x" * pad
    return {"entryId": entry_id, "event": cloud(body)}


async def handle(
    actors: Actors, dead: DeadLetters, entries: list[dict[str, Any]]
) -> dict[str, str]:
    intake = Intake(actors, dead, "progress.deadletter", 65536, 64 * 1024)
    answer = await intake.handle_batch({"topic": "exercise.events", "entries": entries})
    return {s["entryId"]: s["status"] for s in answer["statuses"]}


async def test_a_failed_call_retries_that_student_from_there_on_and_nobody_else() -> None:
    # student a's 6 entries are two calls (each ~40 KiB of data), the second fails
    entries = [entry(str(i), "a", pad=20_000) for i in range(6)] + [entry("b1", "b")]
    actors = Actors(fail_on={"a": 2})
    statuses = await handle(actors, DeadLetters(), entries)
    first_call = actors.calls[[s for s, _ in actors.calls].index("a")][1]
    assert 0 < len(first_call) < 6
    for i in range(6):
        applied_first = f"ev-{i}" in first_call
        assert statuses[str(i)] == ("SUCCESS" if applied_first else "RETRY")
    assert statuses["b1"] == "SUCCESS"


async def test_poison_in_the_middle_is_dead_lettered_and_the_rest_applied() -> None:
    entries = [entry("1", "a"), entry("2", "a", score=150), entry("3", "a")]
    dead = DeadLetters()
    actors = Actors(fail_on={})
    statuses = await handle(actors, dead, entries)
    assert statuses == {"1": "SUCCESS", "2": "SUCCESS", "3": "SUCCESS"}
    assert actors.calls == [("a", ["ev-1", "ev-3"])]
    assert len(dead.published) == 1 and "score" in dead.published[0]["reason"]
    assert dead.published[0]["original"]["data"]["event_id"] == "ev-2"


async def test_poison_is_retried_when_the_dead_letter_topic_is_unreachable() -> None:
    statuses = await handle(
        Actors(fail_on={}), DeadLetters(fail=True), [entry("1", "a", score=150), entry("2", "a")]
    )
    assert statuses == {"1": "RETRY", "2": "SUCCESS"}


class EventLogFake:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.logged: list[str] = []

    async def write(self, events: Sequence[Accepted]) -> None:
        if self.fail:
            raise ConnectionError("database down")
        self.logged += [e.event_id for e in events]


async def test_valid_events_are_logged_and_a_failed_log_retries_the_batch() -> None:
    entries = [entry("1", "a"), entry("2", "a", score=150), entry("3", "b")]
    for fail in (False, True):
        events = EventLogFake(fail)
        intake = Intake(
            Actors(fail_on={}), DeadLetters(), "progress.deadletter", 65536, 64 * 1024, 64, events
        )
        answer = await intake.handle_batch({"topic": "exercise.events", "entries": entries})
        statuses = {s["entryId"]: s["status"] for s in answer["statuses"]}
        # the poison entry is dead-lettered either way, never logged
        assert statuses["2"] == "SUCCESS"
        if fail:  # applied or not, an event not logged comes again (a duplicate then)
            assert (statuses["1"], statuses["3"]) == ("RETRY", "RETRY")
        else:
            assert events.logged == ["ev-1", "ev-3"]
            assert (statuses["1"], statuses["3"]) == ("SUCCESS", "SUCCESS")


async def test_each_students_events_reach_its_actor_once_encoded_with_their_trace_ids() -> None:
    trace = "0af7651916cd43dd8448eb211c80319c"
    traced = cloud(
        {**GOOD, "event_id": "ev-2", "student_id": "a", "note": 'é "quoted"'},
        traceparent=f"00-{trace}-b7ad6b7169203331-01",
    )
    entries = [entry("1", "a"), {"entryId": "2", "event": traced}, entry("3", "b")]
    actors = Actors(fail_on={})
    statuses = await handle(actors, DeadLetters(), entries)
    assert statuses == {"1": "SUCCESS", "2": "SUCCESS", "3": "SUCCESS"}
    assert sorted(actors.calls) == [("a", ["ev-1", "ev-2"]), ("b", ["ev-3"])]
    assert sorted(actors.trace_ids) == [[], [trace]]


async def test_binary_mode_poison_keeps_its_headers_in_the_dead_letter_record() -> None:
    headers = {"ce_specversion": "1.0", "ce_id": "x", "ce_type": "exercise.quiz_graded"}
    body = {**GOOD, "event_id": "ev-1", "student_id": "a"}
    good = {
        "entryId": "2",
        "event": {**body, "event_id": "ev-2"},
        "metadata": {**headers, "ce_source": "quiz-runner", "__key": "a"},
    }
    dead = DeadLetters()
    actors = Actors(fail_on={})
    statuses = await handle(
        actors, dead, [{"entryId": "1", "event": body, "metadata": headers}, good]
    )
    assert statuses == {"1": "SUCCESS", "2": "SUCCESS"}
    assert actors.calls == [("a", ["ev-2"])]
    [record] = dead.published
    assert "ce_source" in record["reason"]
    assert record["original"] == {"headers": headers, "value": body}
