"""CloudEvents in both content modes of the Kafka binding, as a producer team writes them
with the CloudEvents SDK straight into Kafka (docs/events.md, "Publishing"): binary
mode (attributes as ``ce_*`` headers) and structured mode count the same, the same
event sent once in each mode counts once, and a message that is neither is
dead-lettered with a reason naming what was missing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent

from tests.integration.kafka_io import Message, Publisher, TopicReader
from tests.integration.stack import Ports
from tests.integration.support import applied

TOPIC = "python.loops"
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
async def producer(ports: Ports) -> AsyncIterator[Publisher]:
    async with Publisher(f"127.0.0.1:{ports.kafka}") as publisher:
        yield publisher


@pytest.fixture
async def dead(ports: Ports) -> AsyncIterator[TopicReader]:
    reader = TopicReader(f"127.0.0.1:{ports.kafka}", "progress.deadletter")
    await reader.start()
    yield reader
    await reader.stop()


def event(student_id: str, event_id: str, n: int, event_type: str, **fields: Any) -> CloudEvent:
    """One of the student's learning events as a CloudEvent of the SDK; the student id
    is the partition key (the binding's ``partitionkey`` extension becomes the key)."""
    occurred = START + timedelta(minutes=n)
    return CloudEvent(
        {
            "id": event_id,
            "source": "lms-bridge",
            "type": event_type,
            "time": occurred,
            "datacontenttype": "application/json",
            "partitionkey": student_id,
        },
        {
            "event_id": event_id,
            "student_id": student_id,
            "occurred_at": occurred.isoformat(),
            "topic_id": TOPIC,
            **fields,
        },
    )


def session(student_id: str) -> list[CloudEvent]:
    """A short session on one topic: submissions, a quiz, code runs."""
    events = []
    for n, (passed, score) in enumerate([(False, 40), (True, 75), (True, 90)]):
        events.append(
            event(
                student_id, f"{student_id}-s{n}", n, "exercise.submitted",
                exercise_id=f"ex-{n}", passed=passed, score=score,
            )
        )  # fmt: skip
    events.append(
        event(student_id, f"{student_id}-q", 5, "exercise.quiz_graded", quiz_id="q1", score=80)
    )
    return events  # fmt: skip


async def send(producer: Publisher, message: ce_kafka.KafkaMessage) -> None:
    key = message.key.decode() if isinstance(message.key, bytes) else str(message.key)
    await producer.send_raw("exercise.events", message.value, key, message.headers)


def topic_view(progress: dict[str, Any]) -> dict[str, Any]:
    [topic] = [t for t in progress["topics"] if t["topic_id"] == TOPIC]
    return {k: v for k, v in topic.items() if k != "last_activity_at"}


async def test_binary_and_structured_mode_give_the_same_mastery(
    api: httpx.AsyncClient, producer: Publisher
) -> None:
    binary_student = f"it-ceb-{uuid.uuid4().hex[:8]}"
    structured_student = f"it-ces-{uuid.uuid4().hex[:8]}"
    for e in session(binary_student):
        message = ce_kafka.to_binary_event(e)
        assert "ce_type" in message.headers and b'"specversion"' not in message.value
        await send(producer, message)
    for e in session(structured_student):
        message = ce_kafka.to_structured_event(e)
        assert message.headers["content-type"] == b"application/cloudevents+json"
        await send(producer, message)
    await producer.flush()
    binary = await applied(api, binary_student, 4)
    structured = await applied(api, structured_student, 4)
    assert binary["events_applied"] == structured["events_applied"] == 4
    assert topic_view(binary) == topic_view(structured)
    assert topic_view(binary)["mastery_probability"] is not None


async def test_one_event_sent_in_each_mode_counts_once(
    api: httpx.AsyncClient, producer: Publisher
) -> None:
    student_id = f"it-ce2-{uuid.uuid4().hex[:8]}"
    same = event(
        student_id, f"{student_id}-once", 0, "exercise.submitted",
        exercise_id="ex-1", passed=True, score=80,
    )  # fmt: skip
    await send(producer, ce_kafka.to_binary_event(same))
    await send(producer, ce_kafka.to_structured_event(same))
    later = event(student_id, f"{student_id}-later", 1, "exercise.started", exercise_id="ex-2")
    await send(producer, ce_kafka.to_binary_event(later))
    await producer.flush()
    # one partition per student: when the later event is applied, the copy was read
    progress = await applied(api, student_id, 2)
    assert progress["events_applied"] == 2


def refused(marker: str) -> Any:
    def match(m: Message) -> bool:
        data = m.json.get("data") if isinstance(m.json, dict) else None
        return isinstance(data, dict) and marker in json.dumps(data.get("original"))

    return match


async def test_a_message_of_neither_mode_is_dead_lettered_with_what_was_missing(
    api: httpx.AsyncClient, producer: Publisher, dead: TopicReader
) -> None:
    student_id = f"it-ce3-{uuid.uuid4().hex[:8]}"
    plain = event(student_id, f"{student_id}-plain", 0, "exercise.started", exercise_id="e")
    # the data alone, no CloudEvent attributes anywhere
    await producer.send_raw(
        "exercise.events", json.dumps(plain.get_data()).encode(), student_id,
        {"content-type": b"application/json"},
    )  # fmt: skip
    # binary mode without its source
    partial = ce_kafka.to_binary_event(
        event(student_id, f"{student_id}-nosource", 1, "exercise.started", exercise_id="e")
    )
    headers = {k: v for k, v in partial.headers.items() if k != "ce_source"}
    await producer.send_raw("exercise.events", partial.value, student_id, headers)
    good = event(student_id, f"{student_id}-good", 2, "exercise.started", exercise_id="e")
    await send(producer, ce_kafka.to_binary_event(good))
    await producer.flush()

    record = (await dead.wait_for_message(refused(f"{student_id}-plain"))).json["data"]
    assert record["reason"].startswith("not a CloudEvent")
    assert "ce_type" in record["reason"] and "'specversion'" in record["reason"]
    assert record["source_topic"] == "exercise.events"
    record = (await dead.wait_for_message(refused(f"{student_id}-nosource"))).json["data"]
    assert "without the required header(s) ce_source" in record["reason"]
    # nothing lost: the headers travel with the value, ready to be sent again
    assert record["original"]["headers"]["ce_type"] == "exercise.started"
    assert record["original"]["value"]["event_id"] == f"{student_id}-nosource"
    # the student's next event is applied: neither blocked the partition
    assert (await applied(api, student_id, 1))["events_applied"] == 1
