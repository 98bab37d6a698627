"""One real path end to end: publish through daprd -> Kafka -> subscription -> actor ->
Dapr actor state store (PostgreSQL) -> GET /progress."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.integration.kafka_io import TopicReader
from tests.integration.stack import Ports, Stack
from tests.integration.support import applied, publish, student_event


def submitted(student_id: str, event_id: str, exercise_id: str) -> dict[str, Any]:
    return student_event(
        "exercise.submitted", student_id, event_id, exercise_id=exercise_id, passed=True, score=90
    )


async def progress_when(api: httpx.AsyncClient, student_id: str, events: int) -> dict[str, Any]:
    return await applied(api, student_id, events)


async def test_health_reports_every_dependency_up(api: httpx.AsyncClient) -> None:
    r = await api.get("/health")
    assert r.status_code == 200, r.text
    checks = {c["name"]: c["status"] for c in r.json()["checks"]}
    assert checks == {"dapr": "up", "kafka": "up", "postgres": "up"}


async def test_sidecar_metadata_lists_actor_and_components(
    dapr: httpx.AsyncClient, host_dapr: httpx.AsyncClient, stack: Stack
) -> None:
    meta = (await host_dapr.get("/v1.0/metadata")).json()
    assert {"type": "StudentProgressActor"} in [{"type": a["type"]} for a in meta["actors"]]
    components = {(c["name"], c["type"]) for c in meta["components"]}
    assert ("kafka-pubsub", "pubsub.kafka") in components
    assert ("actorstate", "state.postgresql") in components
    topics = {(s["topic"], s.get("deadLetterTopic")) for s in meta["subscriptions"]}
    for topic in ("learning.events", "exercise.events", "code.events"):
        assert (topic, "progress.deadletter") in topics
    if stack.split:  # the front end's sidecar: the components, no actor, no subscription
        front = (await dapr.get("/v1.0/metadata")).json()
        assert not front.get("actors") and not front.get("subscriptions"), front
        assert ("kafka-pubsub", "pubsub.kafka") in {
            (c["name"], c["type"]) for c in front["components"]
        }


async def test_submitted_event_reaches_actor_and_is_saved(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, pg: asyncpg.Connection, student_id: str
) -> None:
    assert (await api.get(f"/progress/{student_id}")).status_code == 404
    await publish(dapr, "exercise.events", submitted(student_id, "e1", "ex1"), key=student_id)

    body = await progress_when(api, student_id, 1)
    [topic] = body["topics"]
    assert topic["topic_id"] == "python.loops"
    # 1 of 5 exercises (20) * 0.4 + streak 1/7 (14.3) * 0.1 = 9.43 -> 9.4
    assert topic["score"] == 9.4 and topic["level"] == "Beginner"
    assert topic["components"]["exercise_completion"] == 20.0
    assert body["last_activity"] == "2026-11-25T10:00:00Z"

    row = await pg.fetchrow(
        "select value, expiredate from dapr_actor_state where key like $1",
        f"%||StudentProgressActor||{student_id}||student",
    )
    assert row is not None, "actor state was not saved in PostgreSQL"
    ttl = row["expiredate"] - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < ttl <= timedelta(days=30)


async def test_second_delivery_of_an_event_id_changes_nothing(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, student_id: str
) -> None:
    await publish(dapr, "exercise.events", submitted(student_id, "dup", "ex1"), key=student_id)
    # Same event_id, different content: were it applied, a second exercise would count.
    await publish(dapr, "exercise.events", submitted(student_id, "dup", "ex2"), key=student_id)
    await publish(dapr, "exercise.events", submitted(student_id, "next", "ex3"), key=student_id)

    body = await progress_when(api, student_id, 2)
    assert body["events_applied"] == 2
    assert body["topics"][0]["passed_exercises"] == 2  # ex1 and ex3, never ex2


async def test_poison_event_is_dead_lettered_and_next_event_processed(
    api: httpx.AsyncClient,
    host_api: httpx.AsyncClient,
    dapr: httpx.AsyncClient,
    ports: Ports,
    student_id: str,
) -> None:
    reader = TopicReader(f"127.0.0.1:{ports.kafka}", "progress.deadletter")
    await reader.start()
    poison_before = await poison_count(host_api)
    try:
        marker = uuid.uuid4().hex
        bad = submitted(student_id, f"bad-{marker}", "ex1")
        bad["data"]["score"] = 250
        await publish(dapr, "exercise.events", bad, key=student_id)
        await publish(dapr, "exercise.events", submitted(student_id, "good", "ex1"), key=student_id)

        key, record = await reader.wait_for(
            lambda v: (
                v.get("data", {}).get("original", {}).get("data", {}).get("event_id")
                == f"bad-{marker}"
            )
        )
        assert key == student_id.encode()
        assert "score" in record["data"]["reason"]
        assert record["data"]["source_topic"] == "exercise.events"
    finally:
        await reader.stop()
    body = await progress_when(api, student_id, 1)
    assert body["events_applied"] == 1
    assert await poison_count(host_api) >= poison_before + 1


async def poison_count(api: httpx.AsyncClient) -> float:
    text = (await api.get("/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("progress_events_total{") and 'outcome="poison"' in line
    )
