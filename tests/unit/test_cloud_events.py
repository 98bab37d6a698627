"""CloudEvents in both content modes of the Kafka binding (service/actorhost/cloud_events.py,
through the intake's decode_entry): the same event gives the same accepted entry."""

from __future__ import annotations

from typing import Any

import pytest

from actors.events import PoisonEvent
from service.actorhost.cloud_events import as_structured, binary_attributes
from service.actorhost.intake import decode_entry

DATA = {
    "event_id": "e1",
    "student_id": "s1",
    "occurred_at": "2026-11-25T10:00:00Z",
    "topic_id": "python.loops",
    "quiz_id": "q",
    "score": 70,
}
TRACE = "0af7651916cd43dd8448eb211c80319c"
HEADERS = {
    "ce_specversion": "1.0",
    "ce_id": "e1",
    "ce_source": "quiz-runner",
    "ce_type": "exercise.quiz_graded",
    "ce_time": "2026-11-25T10:00:00Z",
    "ce_traceparent": f"00-{TRACE}-b7ad6b7169203331-01",
    "content-type": "application/json",
    # what daprd adds to every entry's metadata beside the headers
    "__key": "s1",
    "__partition": "0",
    "__offset": "12",
}
STRUCTURED = {
    "specversion": "1.0",
    "id": "e1",
    "source": "quiz-runner",
    "type": "exercise.quiz_graded",
    "traceparent": f"00-{TRACE}-b7ad6b7169203331-01",
    "datacontenttype": "application/json",
    "data": DATA,
}


def test_binary_and_structured_modes_give_the_same_entry() -> None:
    binary = decode_entry("1", dict(DATA), 65536, HEADERS)
    structured = decode_entry("1", STRUCTURED, 65536, {"__key": "s1"})
    assert binary == structured
    assert (binary.event_id, binary.type, binary.trace_id) == ("e1", STRUCTURED["type"], TRACE)


def test_structured_body_wins_over_stray_headers() -> None:
    # a structured event whose producer also set ce_ headers: the value is the event
    entry = decode_entry("1", STRUCTURED, 65536, {**HEADERS, "ce_type": "code.executed"})
    assert entry.type == "exercise.quiz_graded"


def test_header_names_are_case_insensitive() -> None:
    upper = {k.upper() if k.startswith("ce_") else k: v for k, v in HEADERS.items()}
    assert binary_attributes(upper)["type"] == "exercise.quiz_graded"
    assert decode_entry("1", dict(DATA), 65536, upper).type == "exercise.quiz_graded"


def test_events_without_headers_keep_working() -> None:
    assert as_structured(STRUCTURED, None) is STRUCTURED
    legacy = {"type": "exercise.quiz_graded", "data": DATA}  # no specversion
    assert decode_entry("1", legacy, 65536).event_id == "e1"


@pytest.mark.parametrize(
    ("value", "metadata", "reason"),
    [
        (DATA, {"__key": "s1"}, "not a CloudEvent: the message value has no 'specversion'"),
        (DATA, None, "(binary mode)"),
        (DATA, {**HEADERS, "ce_id": ""}, "without the required header(s) ce_id"),
        (
            DATA,
            {k: v for k, v in HEADERS.items() if k not in ("ce_source", "ce_specversion")},
            "without the required header(s) ce_specversion, ce_source",
        ),
        (DATA, {**HEADERS, "ce_specversion": "0.3"}, "spec version '0.3'"),
        (DATA, {**HEADERS, "content-type": "application/avro"}, "content-type 'application/avro'"),
        (
            DATA,
            {**HEADERS, "ce_type": "com.example.other"},
            "unknown event type 'com.example.other'",
        ),
        ([1, 2], HEADERS, "event data must be a JSON object"),
        ({**DATA, "score": 150}, HEADERS, "score"),
    ],
)
def test_what_is_neither_or_incomplete_is_poison_with_a_reason(
    value: Any, metadata: dict[str, str] | None, reason: str
) -> None:
    with pytest.raises(PoisonEvent) as info:
        decode_entry("1", value, 65536, metadata)
    assert reason in info.value.reason
    assert info.value.student_id == (None if isinstance(value, list) else "s1")


def test_json_media_types_are_accepted() -> None:
    for media_type in ("application/json; charset=utf-8", "application/vnd.school+json"):
        entry = decode_entry("1", dict(DATA), 65536, {**HEADERS, "content-type": media_type})
        assert entry.event_id == "e1"
