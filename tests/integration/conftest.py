"""Fixtures for tests against the real stack: daprd, placement, scheduler, Kafka and
PostgreSQL. If the stack cannot start, the session fails (it is never skipped)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from tests.integration.kafka_io import TopicReader
from tests.integration.stack import Ports, Stack, actor_host_ports, stack_secret
from tests.integration.support import CORS_ORIGIN, Student, bearer


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    # the two roles, as the chart deploys them; TEST_SPLIT=0 runs the tests against one
    # process of role all (what `make run` starts)
    split = os.environ.get("TEST_SPLIT", "1") != "0"
    s = Stack(Ports(), extra_env={"PROGRESS_CORS_ORIGINS": CORS_ORIGIN}, split=split)
    try:
        s.up()
        yield s
    finally:
        s.down()


@pytest.fixture(scope="session")
def ports(stack: Stack) -> Ports:
    return stack.ports


@pytest.fixture(scope="session")
def host_ports(stack: Stack) -> Ports:
    """The ports of the process that hosts the actors and the intake (the front end's
    when the stack is one process)."""
    return actor_host_ports(stack.ports) if stack.split else stack.ports


@pytest.fixture
async def host_api(host_ports: Ports) -> AsyncIterator[httpx.AsyncClient]:
    """The actor host's own routes (health, metrics: the intake's counters are there)."""
    async with httpx.AsyncClient(
        base_url=host_ports.app_url, timeout=15, headers=bearer("admin")
    ) as client:
        yield client


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
async def host_dapr(host_ports: Ports) -> AsyncIterator[httpx.AsyncClient]:
    """The actor host's daprd (the one with the actors and the subscriptions)."""
    headers = {"dapr-api-token": stack_secret("dapr_api_token")}
    async with httpx.AsyncClient(
        base_url=host_ports.dapr_url, timeout=15, headers=headers
    ) as client:
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


async def _reader(ports: Ports, topic: str) -> AsyncIterator[TopicReader]:
    reader = TopicReader(f"127.0.0.1:{ports.kafka}", topic)
    await reader.start()
    yield reader
    await reader.stop()


@pytest.fixture
async def struggles(ports: Ports) -> AsyncIterator[TopicReader]:
    async for reader in _reader(ports, "struggle.detected"):
        yield reader


@pytest.fixture
async def progress_updates(ports: Ports) -> AsyncIterator[TopicReader]:
    async for reader in _reader(ports, "progress.updated"):
        yield reader


@pytest.fixture
def student(dapr: httpx.AsyncClient, student_id: str) -> Student:
    return Student(dapr, student_id)
