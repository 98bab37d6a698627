"""GET /health: checks every dependency for real, concurrently, each with a timeout.

- dapr: daprd's own health endpoint.
- kafka: a small probe message published through the Kafka pub/sub component (the only
  way this service talks to Kafka) on the health topic; it succeeds only when the
  broker accepted the write.
- postgres: ``SELECT 1`` on the alert database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.settings import Settings
from service.sidecar import Sidecar


async def _timed(name: str, check: Callable[[], Awaitable[None]], timeout: float) -> dict[str, Any]:
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


async def check_health(settings: Settings, sidecar: Sidecar, engine: AsyncEngine) -> dict[str, Any]:
    timeout = settings.health_timeout_s

    async def dapr() -> None:
        await sidecar.healthz(timeout)

    async def kafka() -> None:
        probe = {"probe": "health", "at": datetime.now(UTC).isoformat()}
        await sidecar.publish(settings.health_topic, probe, timeout=timeout)

    async def postgres() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    checks = await asyncio.gather(
        _timed("dapr", dapr, timeout),
        _timed("kafka", kafka, timeout),
        _timed("postgres", postgres, timeout),
    )
    by_name = {c["name"]: c for c in checks}
    if by_name["dapr"]["status"] == "down" and by_name["kafka"]["status"] == "down":
        # Kafka is reached only through the sidecar: with daprd down its state is unknown.
        by_name["kafka"]["status"] = "unknown"
        by_name["kafka"]["error"] = (
            "not checked: Kafka is reached through the Dapr sidecar, which is down"
        )
    down = [c["name"] for c in checks if c["status"] == "down"]
    healthy = all(c["status"] == "up" for c in checks)
    return {"status": "up" if healthy else "down", "down": down, "checks": checks}
