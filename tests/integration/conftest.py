"""Fixtures for tests against the real stack: daprd, placement, scheduler, Kafka and
PostgreSQL. If the stack cannot start, the session fails (it is never skipped)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from service.dev_token import mint
from tests.integration.stack import Ports, Stack, stack_secret


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    s = Stack(Ports())
    try:
        s.up()
        yield s
    finally:
        s.down()


@pytest.fixture(scope="session")
def ports(stack: Stack) -> Ports:
    return stack.ports


def bearer(role: str, subject: str | None = None) -> dict[str, str]:
    """An Authorization header with a token signed by the local development secret."""
    return {"Authorization": f"Bearer {mint(role, subject or f'{role}-it')}"}


@pytest.fixture
async def api(ports: Ports) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP API as an admin (tests of the auth matrix pass their own headers)."""
    async with httpx.AsyncClient(
        base_url=ports.app_url, timeout=15, headers=bearer("admin")
    ) as client:
        yield client


@pytest.fixture
async def anonymous(ports: Ports) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=15) as client:
        yield client


@pytest.fixture
async def dapr(ports: Ports) -> AsyncIterator[httpx.AsyncClient]:
    """daprd's HTTP API, with the sidecar's API token as producers send it."""
    headers = {"dapr-api-token": stack_secret("dapr_api_token")}
    async with httpx.AsyncClient(base_url=ports.dapr_url, timeout=15, headers=headers) as client:
        yield client


@pytest.fixture
async def pg(ports: Ports) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(ports.database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def student_id() -> str:
    """A fresh student per test, so tests never see each other's state."""
    return f"it-{uuid.uuid4().hex[:12]}"


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
