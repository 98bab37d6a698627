"""GET /health and GET /ready: dependency checks made for real, concurrently, each with
a timeout.

- dapr: daprd's own health endpoint.
- kafka: a small probe message published through the Kafka pub/sub component (the only
  way this service talks to Kafka) on the health topic; it succeeds only when the
  broker accepted the write.
- postgres: ``SELECT 1`` on the alert database.

``/health`` runs all three (what an operator wants to see). ``/ready`` (the Kubernetes
readiness probe) runs only what the read API needs to answer: daprd, through which
``GET /progress/{id}`` asks the student's actor, and PostgreSQL, which holds the views,
alerts and rosters. Kafka is left out on purpose: while it is down the intake waits in
daprd's retries and the topic, but teachers can still read (docs/operations.md,
"Readiness and liveness").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.dapr.sidecar import Sidecar
from service.settings import Settings

Check = Callable[[], Awaitable[None]]


async def _timed(name: str, check: Check, timeout: float) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout)
        status, error = "up", None
    except TimeoutError:
        status, error = "down", f"no answer within {timeout:g}s"
    except Exception as exc:  # any failure of a dependency check means "down"
        status, error = "down", str(exc) or exc.__class__.__name__
    result: dict[str, Any] = {
        "name": name,
        "status": status,
        "latency_ms": round((time.perf_counter() - start) * 1000, 1),
    }
    if error:
        result["error"] = error
    return result


def _checks(settings: Settings, sidecar: Sidecar, engine: AsyncEngine) -> dict[str, Check]:
    timeout = settings.health_timeout_s

    async def dapr() -> None:
        await sidecar.healthz(timeout)

    async def kafka() -> None:
        probe = {"probe": "health", "at": datetime.now(UTC).isoformat()}
        await sidecar.publish(settings.health_topic, probe, timeout=timeout)

    async def postgres() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return {"dapr": dapr, "kafka": kafka, "postgres": postgres}


async def _run(settings: Settings, checks: dict[str, Check]) -> list[dict[str, Any]]:
    timeout = settings.health_timeout_s
    return list(await asyncio.gather(*(_timed(n, c, timeout) for n, c in checks.items())))


def _report(checks: list[dict[str, Any]]) -> dict[str, Any]:
    down = [c["name"] for c in checks if c["status"] == "down"]
    healthy = all(c["status"] == "up" for c in checks)
    return {"status": "up" if healthy else "down", "down": down, "checks": checks}


async def check_health(settings: Settings, sidecar: Sidecar, engine: AsyncEngine) -> dict[str, Any]:
    """Every dependency: daprd, Kafka (through daprd) and PostgreSQL."""
    checks = await _run(settings, _checks(settings, sidecar, engine))
    by_name = {c["name"]: c for c in checks}
    if by_name["dapr"]["status"] == "down" and by_name["kafka"]["status"] == "down":
        # Kafka is reached only through the sidecar: with daprd down its state is unknown.
        by_name["kafka"]["status"] = "unknown"
        by_name["kafka"]["error"] = (
            "not checked: Kafka is reached through the Dapr sidecar, which is down"
        )
    return _report(checks)


READINESS = ("dapr", "postgres")


async def check_readiness(
    settings: Settings, sidecar: Sidecar, engine: AsyncEngine
) -> dict[str, Any]:
    """What the read API needs (READINESS): daprd and PostgreSQL, not Kafka."""
    every = _checks(settings, sidecar, engine)
    return _report(await _run(settings, {name: every[name] for name in READINESS}))
