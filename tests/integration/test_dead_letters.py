"""What lands on the dead-letter topic (docs/events.md, "Bad events: the dead-letter
topic"): the service's records for events it refuses, and daprd's for messages it gives
up on. Each says why and what, and each can be republished to its source topic."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.kafka_io import DeadLetter, Message, Publisher, TopicReader, dead_letter
from tests.integration.stack import Ports
from tests.integration.support import applied, publish, student_event

DEAD = "progress.deadletter"
# components/resiliency.yaml, inboundEvent: 30 retries, exponential from 0.5 s up to 5 s
# apart (about 2.5 minutes), then daprd writes the entry to the dead-letter topic.
RETRIES_RUN_OUT_S = 300.0


@pytest.fixture
async def dead(ports: Ports) -> AsyncIterator[TopicReader]:
    reader = TopicReader(f"127.0.0.1:{ports.kafka}", DEAD)
    await reader.start()
    yield reader
    await reader.stop()


@pytest.fixture
async def exercise_events(ports: Ports) -> AsyncIterator[TopicReader]:
    reader = TopicReader(f"127.0.0.1:{ports.kafka}", "exercise.events")
    await reader.start()
    yield reader
    await reader.stop()


def submitted(student_id: str, event_id: str, score: float = 90) -> dict[str, Any]:
    return student_event(
        "exercise.submitted", student_id, event_id, exercise_id="ex1", passed=True, score=score
    )


def event_id_of(message: Message) -> Any:
    body = message.json if isinstance(message.json, dict) else {}
    data = body.get("data")
    return data.get("event_id") if isinstance(data, dict) else None


async def republish(dapr: httpx.AsyncClient, record: Message) -> None:
    """Replay as docs/events.md says: the event, to its source topic, with the key."""
    letter = dead_letter(record)
    assert letter.source_topic is not None and letter.key is not None
    await publish(dapr, letter.source_topic, letter.event.decode(), key=letter.key.decode())


async def test_the_service_writes_a_refused_event_with_why_and_what(
    api: httpx.AsyncClient,
    dapr: httpx.AsyncClient,
    ports: Ports,
    dead: TopicReader,
    exercise_events: TopicReader,
    student_id: str,
) -> None:
    marker = f"poison-{uuid.uuid4().hex[:8]}"
    await publish(dapr, "exercise.events", submitted(student_id, marker, 250), key=student_id)
    sent = await exercise_events.wait_for_message(lambda m: event_id_of(m) == marker)

    def refused(m: Message) -> bool:
        data = m.json.get("data") if isinstance(m.json, dict) else None
        return isinstance(data, dict) and data.get("original", {}).get("id") == marker

    record = await dead.wait_for_message(refused)
    assert record.key == student_id.encode()
    # a CloudEvent published by the service through Dapr; its data is the record
    assert record.json["type"] == "com.dapr.event.sent"
    assert record.json["source"] == ports.app_id
    assert record.json["topic"] == DEAD
    data = record.json["data"]
    assert set(data) == {"reason", "source_topic", "dead_lettered_at", "original"}
    assert "score: Input should be less than or equal to 100" in data["reason"]
    assert data["source_topic"] == "exercise.events"
    assert data["original"] == sent.json  # the CloudEvent as it was on its source topic

    letter = dead_letter(record)
    assert (letter.written_by, letter.reason) == ("service", data["reason"])

    # the producer mends the event and republishes it
    mended = json.loads(letter.event)
    mended["data"]["score"] = 95
    await publish(dapr, "exercise.events", mended, key=student_id)
    progress = await applied(api, student_id, 1)
    assert progress["events_applied"] == 1


async def test_daprd_writes_the_message_as_it_was_when_its_retries_run_out(
    api: httpx.AsyncClient,
    dapr: httpx.AsyncClient,
    pg: asyncpg.Connection,
    dead: TopicReader,
    exercise_events: TopicReader,
    student_id: str,
) -> None:
    # A stored state this release refuses to read (it needs a reader of version 99): every
    # delivery of the student's event fails, is answered RETRY, and daprd retries it
    # until the inbound policy runs out.
    key = f"{Ports().app_id}||StudentProgressActor||{student_id}||student"
    unreadable = {"student_id": student_id, "schema_version": 99, "min_reader_version": 99}
    await pg.execute(
        "INSERT INTO dapr_actor_state (key, value, isbinary) VALUES ($1, $2::jsonb, false)",
        key,
        json.dumps(json.dumps(unreadable)),
    )
    marker = f"given-up-{uuid.uuid4().hex[:8]}"
    await publish(dapr, "exercise.events", submitted(student_id, marker), key=student_id)
    sent = await exercise_events.wait_for_message(lambda m: event_id_of(m) == marker)

    record = await dead.wait_for_message(lambda m: event_id_of(m) == marker, RETRIES_RUN_OUT_S)
    assert record.value == sent.value  # byte for byte the message on the source topic
    assert record.key == student_id.encode()
    assert record.headers["__topic"] == b"exercise.events"
    assert record.json["type"] == "exercise.submitted"
    assert "reason" not in record.json and "reason" not in record.json["data"]
    assert dead_letter(record) == DeadLetter(
        "daprd", None, "exercise.events", student_id.encode(), sent.value
    )
    assert (await api.get(f"/progress/{student_id}")).status_code != 200

    # the cause mended (here: the unreadable row removed), the record is republished
    await pg.execute("DELETE FROM dapr_actor_state WHERE key = $1", key)
    await republish(dapr, record)
    progress = await applied(api, student_id, 1)
    assert progress["events_applied"] == 1


async def test_daprd_writes_a_message_that_is_not_a_json_object_at_once(
    ports: Ports, dead: TopicReader, student_id: str
) -> None:
    body = f"not json {uuid.uuid4().hex}".encode()
    async with Publisher(f"127.0.0.1:{ports.kafka}") as kafka:
        await kafka.send_raw("code.events", body, student_id)
        await kafka.flush()
    record = await dead.wait_for_message(lambda m: m.value == body)
    assert record.key == student_id.encode()
    assert record.headers["__topic"] == b"code.events"
    assert dead_letter(record).written_by == "daprd"
