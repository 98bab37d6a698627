"""Decoding a delivery: anything unusable is a PoisonEvent with a readable reason."""

import json

import pytest

from actors.events import PoisonEvent
from service.intake import Delivery, _decode

GOOD = {
    "event_id": "e1",
    "student_id": "s1",
    "occurred_at": "2026-11-25T10:00:00Z",
    "topic_id": "python.loops",
    "quiz_id": "q",
    "score": 70,
}


def delivery(body: object) -> Delivery:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Delivery(topic="exercise.events", body=raw)


def test_cloud_event_is_decoded() -> None:
    envelope = _decode(delivery({"type": "exercise.quiz_graded", "data": GOOD}), 65536)
    assert envelope["type"] == "exercise.quiz_graded"
    assert envelope["data"]["score"] == 70.0 and envelope["data"]["occurred_at"].endswith("Z")


def test_json_sent_as_text_is_accepted() -> None:
    body = {"type": "exercise.quiz_graded", "data": json.dumps(GOOD)}
    assert _decode(delivery(body), 65536)["data"]["event_id"] == "e1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "not a CloudEvent object"),
        ({"type": "exercise.quiz_graded", "data": "plain text"}, "not a JSON object"),
        ({"type": "com.dapr.event.sent", "data": GOOD}, "unknown event type"),
        ({"type": "exercise.quiz_graded", "data": {**GOOD, "pad": "x" * 70000}}, "exceeds"),
    ],
)
def test_poison(body: object, reason: str) -> None:
    with pytest.raises(PoisonEvent) as info:
        _decode(delivery(body), 65536)
    assert reason in info.value.reason
