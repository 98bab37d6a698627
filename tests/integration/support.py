"""Helpers for tests against the real stack, shared by the integration tests (their
fixtures are in conftest.py; the stack itself in stack.py, which the benchmark uses too).
No test module imports another."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from service.dev_token import mint

# The browser origin the test stack's app allows (PROGRESS_CORS_ORIGINS, conftest.py).
CORS_ORIGIN = "http://console.test.example:8080"


def bearer(role: str, subject: str | None = None) -> dict[str, str]:
    """An Authorization header with a token signed by the local development secret."""
    return {"Authorization": f"Bearer {mint(role, subject or f'{role}-it')}"}


def cloud_event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": data.get("event_id", str(uuid.uuid4())),
        "source": "integration-tests",
        "type": event_type,
        "datacontenttype": "application/json",
        "data": data,
    }


def student_event(
    event_type: str,
    student_id: str,
    event_id: str,
    occurred_at: str = "2026-11-25T10:00:00Z",
    topic_id: str = "python.loops",
    **fields: Any,
) -> dict[str, Any]:
    """A CloudEvent of one student's learning event, topic and time defaulted."""
    return cloud_event(
        event_type,
        {
            "event_id": event_id,
            "student_id": student_id,
            "occurred_at": occurred_at,
            "topic_id": topic_id,
            **fields,
        },
    )


async def publish(
    dapr: httpx.AsyncClient, topic: str, body: dict[str, Any] | str, key: str | None = None
) -> None:
    """Publish through daprd's publish API, as producers do."""
    content = body if isinstance(body, str) else json.dumps(body)
    response = await dapr.post(
        f"/v1.0/publish/kafka-pubsub/{topic}",
        content=content,
        params={"metadata.partitionKey": key} if key else None,
        headers={"content-type": "application/cloudevents+json"},
    )
    assert response.status_code == 204, response.text


async def eventually(check: Any, timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Poll the async ``check`` until it returns a truthy value."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


TOPIC_OF = {"learning": "learning.events", "exercise": "exercise.events", "code": "code.events"}
_seq = itertools.count()


class Student:
    """Publishes events for one student, as the platform's producers would."""

    def __init__(self, dapr: httpx.AsyncClient, student_id: str) -> None:
        self.dapr = dapr
        self.id = student_id
        self.published = 0

    async def send(
        self,
        event_type: str,
        topic_id: str | None = "python.loops",
        event_id: str | None = None,
        **fields: Any,
    ) -> str:
        event_id = event_id or f"{self.id}-{next(_seq)}"
        data: dict[str, Any] = {
            "event_id": event_id,
            "student_id": self.id,
            "occurred_at": datetime.now(UTC).isoformat(),
            **fields,
        }
        if topic_id is not None:
            data["topic_id"] = topic_id
        kafka_topic = TOPIC_OF[event_type.split(".")[0]]
        await publish(self.dapr, kafka_topic, cloud_event(event_type, data), key=self.id)
        self.published += 1
        return event_id


async def applied(api: httpx.AsyncClient, student_id: str, count: int) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        r = await api.get(f"/progress/{student_id}")
        if r.status_code == 200 and r.json()["events_applied"] >= count:
            body: dict[str, Any] = r.json()
            return body
        return None

    result: dict[str, Any] = await eventually(check, timeout=45)
    return result


async def alerts(pg: asyncpg.Connection, student_id: str) -> list[asyncpg.Record]:
    return list(
        await pg.fetch(
            "select * from struggle_alerts where student_id = $1 order by detected_at, kind",
            student_id,
        )
    )


async def put_class(
    api: httpx.AsyncClient, class_id: str, teachers: list[str], students: list[str]
) -> None:
    """Create or replace a class (as the admin ``api`` client), titled by its id."""
    r = await api.put(
        f"/classes/{class_id}",
        json={"title": class_id, "teacher_ids": teachers, "student_ids": students},
    )
    assert r.status_code == 200, r.text
