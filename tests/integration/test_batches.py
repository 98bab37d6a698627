"""The batched event path on the real stack: a burst of one student's events, published
straight into Kafka, reaches the actor in bulk deliveries; a poison entry among them is
dead-lettered with its reason and the rest applied; state stored by the per-event
version of the service loads and carries on."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from actors.stored_state import SCHEMA_VERSION
from tests.integration.kafka_io import Publisher, TopicReader
from tests.integration.stack import Ports
from tests.integration.support import applied, publish, student_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def quiz(student_id: str, event_id: str, score: float) -> dict[str, Any]:
    return student_event(
        "exercise.quiz_graded",
        student_id,
        event_id,
        occurred_at="2026-11-26T10:00:00Z",
        quiz_id="q",
        score=score,
    )


async def test_poison_in_the_middle_of_a_burst_is_dead_lettered_and_the_rest_applied(
    api: httpx.AsyncClient, ports: Ports, student_id: str
) -> None:
    reader = TopicReader(f"127.0.0.1:{ports.kafka}", "progress.deadletter")
    await reader.start()
    marker = uuid.uuid4().hex
    burst = [quiz(student_id, f"{marker}-{i}", 60 + i) for i in range(40)]
    burst[20]["data"]["score"] = 400  # poison, in the middle
    try:
        async with Publisher(f"127.0.0.1:{ports.kafka}") as kafka:
            for event in burst:
                await kafka.send_raw("exercise.events", json.dumps(event).encode(), student_id)
            await kafka.flush()
        progress = await applied(api, student_id, 39)
        assert progress["events_applied"] == 39
        _, dead = await reader.wait_for(
            lambda v: v.get("data", {}).get("original", {}).get("id") == f"{marker}-20"
        )
        assert "score" in dead["data"]["reason"]
        assert dead["data"]["source_topic"] == "exercise.events"
    finally:
        await reader.stop()


async def test_state_stored_by_the_per_event_version_loads_and_carries_on(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, pg: asyncpg.Connection, student_id: str
) -> None:
    """The fixture is a row of the actor state table written by the service before
    batching (schema version 1), captured as stored."""
    stored = (FIXTURES / "student-state-v1.json").read_text().strip()
    before = json.loads((FIXTURES / "student-state-v1.progress.json").read_text())
    await pg.execute(
        "INSERT INTO dapr_actor_state (key, value, isbinary) VALUES ($1, $2::jsonb, false)",
        f"{Ports().app_id}||StudentProgressActor||{student_id}||student",
        stored.replace("fixture-v1", student_id),
    )
    r = await api.get(f"/progress/{student_id}")
    assert r.status_code == 200
    loaded = r.json()
    for topic in before["topics"]:  # no knowledge tracing before schema version 5: none yet
        topic.update(mastery_probability=None, knowledge_level=None)
    assert loaded["topics"] == before["topics"]
    assert loaded["events_applied"] == before["events_applied"]

    await publish(dapr, "exercise.events", quiz(student_id, "f4", 5), key=student_id)  # seen
    await publish(dapr, "exercise.events", quiz(student_id, "new-1", 100), key=student_id)
    after = await applied(api, student_id, before["events_applied"] + 1)
    loops = next(t for t in after["topics"] if t["topic_id"] == "python.loops")
    assert loops["components"]["quiz"] == 70.0  # mean of 40 (stored) and 100 (new)
    assert loops["mastery_probability"] == 0.4  # the first observation since: from the prior
    value = await pg.fetchval(
        "SELECT value #>> '{}' FROM dapr_actor_state WHERE key = $1",
        f"{Ports().app_id}||StudentProgressActor||{student_id}||student",
    )
    assert json.loads(value)["schema_version"] == SCHEMA_VERSION
