"""GET /health's and GET /ready's checks against dependencies that are really
unreachable: answers name what is down. The live sidecar is used where the check needs
it. (Kafka really stopped: the fault suite's stop-kafka scenario, tests/integration/
test_chaos.py.)"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service.dapr.sidecar import Sidecar
from service.db import create_engine
from service.health import check_health, check_readiness
from service.settings import Settings
from tests.integration.stack import Ports, stack_secret

Check = Callable[[Settings, Sidecar, AsyncEngine], Awaitable[dict[str, Any]]]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


async def report_for(settings: Settings, check: Check = check_health) -> dict[str, Any]:
    sidecar, engine = Sidecar(settings), create_engine(settings)
    try:
        return await check(settings, sidecar, engine)
    finally:
        await sidecar.aclose()
        await engine.dispose()


@pytest.mark.usefixtures("stack")
async def test_postgres_down_is_named(ports: Ports) -> None:
    settings = Settings(
        DAPR_HTTP_PORT=ports.dapr_http,
        DAPR_API_TOKEN=stack_secret("dapr_api_token"),
        database_url=f"postgresql+asyncpg://progress:x@127.0.0.1:{closed_port()}/progress",
    )
    report = await report_for(settings)
    assert report["status"] == "down" and report["down"] == ["postgres"]


@pytest.mark.usefixtures("stack")
async def test_sidecar_down_is_named_and_kafka_unknown(ports: Ports) -> None:
    settings = Settings(
        DAPR_HTTP_PORT=closed_port(),
        database_url=f"postgresql+asyncpg://progress:progress-dev@127.0.0.1:{ports.postgres}/{ports.database}",
    )
    report = await report_for(settings)
    assert report["down"] == ["dapr"]
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses == {"dapr": "down", "kafka": "unknown", "postgres": "up"}


@pytest.mark.usefixtures("stack")
async def test_readiness_names_postgres_and_never_checks_kafka(ports: Ports) -> None:
    settings = Settings(
        DAPR_HTTP_PORT=ports.dapr_http,
        DAPR_API_TOKEN=stack_secret("dapr_api_token"),
        database_url=f"postgresql+asyncpg://progress:x@127.0.0.1:{closed_port()}/progress",
    )
    report = await report_for(settings, check_readiness)
    assert report["status"] == "down" and report["down"] == ["postgres"]
    assert {c["name"] for c in report["checks"]} == {"dapr", "postgres"}


@pytest.mark.usefixtures("stack")
async def test_readiness_names_the_sidecar(ports: Ports) -> None:
    settings = Settings(
        DAPR_HTTP_PORT=closed_port(),
        database_url=f"postgresql+asyncpg://progress:progress-dev@127.0.0.1:{ports.postgres}/{ports.database}",
    )
    report = await report_for(settings, check_readiness)
    assert report["down"] == ["dapr"]
    ok = await report_for(
        Settings(
            DAPR_HTTP_PORT=ports.dapr_http,
            DAPR_API_TOKEN=stack_secret("dapr_api_token"),
            database_url=settings.database_url,
        ),
        check_readiness,
    )
    assert ok["status"] == "up" and ok["down"] == []
