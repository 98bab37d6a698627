"""The teachers' views at school scale (issue 12): python -m bench.class_views, or as part
of ``make bench``. With 100,000 students in 2,500 classes of 40, 1,000,000 history rows
and 1,000,000 alerts in the benchmark's database (tests/integration/school_data.py),
each view is requested by the teachers of random classes (one client, then four at
once; each client's first WARMUP requests untimed) and its latency recorded:
p50/p95/p99 of ``GET /classes/{id}/students?sort=risk``, ``/classes/{id}/topics`` and
``/progress/{id}/history``, and of the trivial ``/healthz`` (the floor: what any request
through this app costs on this machine, client included).
The school is removed afterwards."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

import asyncpg
import httpx

from bench.run import replica, replica_ports, summary
from service.dev_token import mint
from tests.integration.school_data import CLASS_SIZE, CLASSES, populate, remove
from tests.integration.stack import Ports, phase, stop_on_sigterm

REQUESTS = 400
VIEWS = ("students", "topics", "history", "floor")
# Requests each client sends before its timed ones: the client's connection, the app's
# pool connections and their prepared statements are set up then, not timed.
WARMUP = 20
CLIENT_COUNTS = (1, 4)  # one teacher at a time, then four at once


def _request(rnd: random.Random, view: str) -> tuple[str, str]:
    """(path, teacher) of one request to ``view`` for a random class."""
    c = rnd.randrange(CLASSES)
    if view == "students":
        return f"/classes/sc-{c}/students?sort=risk", f"st-{c}"
    if view == "topics":
        return f"/classes/sc-{c}/topics", f"st-{c}"
    if view == "floor":  # the HTTP path alone: daprd's health route, no token, no SQL
        return "/healthz", f"st-{c}"
    return f"/progress/ss-{c * CLASS_SIZE + rnd.randrange(CLASS_SIZE)}/history", f"st-{c}"


async def timed_gets(
    ports: Ports, requests: list[tuple[str, str]], clients: int, warmup: int
) -> dict[str, float]:
    """GET each (path, teacher) with the teacher's token, ``clients`` at once (each
    client's first ``warmup`` requests untimed); latency summary in ms. Any status but
    200 stops the benchmark. Also used by bench/console_pages.py."""
    tokens: dict[str, str] = {}
    latencies: list[float] = []

    async def client(mine: list[tuple[str, str]]) -> None:
        async with httpx.AsyncClient(base_url=ports.app_url, timeout=30) as api:
            for n, (path, teacher) in enumerate(mine):
                token = tokens.setdefault(teacher, mint("teacher", teacher))
                start = time.perf_counter()
                r = await api.get(path, headers={"Authorization": f"Bearer {token}"})
                if n >= warmup:
                    latencies.append((time.perf_counter() - start) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: HTTP {r.status_code} {r.text[:200]}")

    await asyncio.gather(*(client(requests[i::clients]) for i in range(clients)))
    return summary(latencies)


async def _measure(ports: Ports, view: str, clients: int) -> dict[str, float]:
    rnd = random.Random(view)
    requests = [_request(rnd, view) for _ in range(REQUESTS + WARMUP * clients)]
    return await timed_gets(ports, requests, clients, WARMUP)


async def class_views(ports: Ports) -> dict[str, Any]:
    """The three views' latency over the school; needs the benchmark's app running."""
    conn = await asyncpg.connect(ports.database_url)
    try:
        with phase("class views: inserting 100,000 students, 1M history rows, 1M alerts"):
            async with conn.transaction():
                await populate(conn)
        results: dict[str, Any] = {"requests_per_view": REQUESTS}
        for clients in CLIENT_COUNTS:
            for view in VIEWS:
                with phase(f"class views: {REQUESTS} requests of {view}, {clients} at once"):
                    results[f"{view}_{clients}_clients"] = await _measure(ports, view, clients)
        return results
    finally:
        await remove(conn)
        await conn.close()


async def main() -> None:
    stack = replica(1)
    stack.up()
    try:
        sys.stdout.write(json.dumps(await class_views(replica_ports(1))) + "\n")
    finally:
        stack.down()


if __name__ == "__main__":
    stop_on_sigterm()
    asyncio.run(main())
