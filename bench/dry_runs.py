"""A background dry run at school scale (issue 13): python -m bench.dry_runs, or as part
of ``make bench``. EVENTS generated events of STUDENTS students are written to the
benchmark's event log (learning_events), a dry run of a candidate over all of them is
started (``POST /rules/dry-runs``) and polled to its end; meanwhile the app's trivial
``/healthz`` is timed, as before the dry run: the replay runs in a worker process of
lower priority, so the app's event loop must stay as quick as when idle. Reported: the
dry run's seconds and events per second, /healthz p50/p95/p99 idle and during. The
events are removed afterwards."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench.run import replica, replica_ports, summary
from bench.workload import generate
from service.dev_token import mint
from tests.integration.stack import Ports, phase, stop_on_sigterm

EVENTS = 400_000
STUDENTS = 2_000
PREFIX = "drb"
CANDIDATE = {"thresholds": {"repeated_error_count": 2, "quiz_low_below": 60}, "note": "bench"}
PROBE_EVERY = 0.05  # seconds between /healthz probes


async def _load(conn: asyncpg.Connection) -> None:
    start = datetime.now(UTC) - timedelta(days=2)
    rows = [
        (
            e.student_id,
            e.data["event_id"],
            e.type,
            datetime.fromisoformat(e.data["occurred_at"]),
            e.data.get("topic_id"),
            e.data.get("exercise_id"),
            json.dumps(e.data),
        )
        for e in generate(EVENTS, STUDENTS, seed=13, prefix=PREFIX, start=start)
    ]
    await conn.copy_records_to_table(
        "learning_events",
        records=rows,
        columns=[
            "student_id",
            "event_id",
            "type",
            "occurred_at",
            "topic_id",
            "exercise_id",
            "data",
        ],
    )


async def _probe(api: httpx.AsyncClient, until: asyncio.Event) -> list[float]:
    latencies: list[float] = []
    while not until.is_set():
        start = time.perf_counter()
        r = await api.get("/healthz")
        latencies.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
        await asyncio.sleep(PROBE_EVERY)
    return latencies


async def dry_runs(ports: Ports) -> dict[str, Any]:
    """Needs the benchmark's app running, its event log without PREFIX's events."""
    conn = await asyncpg.connect(ports.database_url)
    admin = {"Authorization": f"Bearer {mint('admin', 'bench')}"}
    try:
        with phase(f"dry runs: writing {EVENTS} events of {STUDENTS} students to the log"):
            await _load(conn)
        async with httpx.AsyncClient(base_url=ports.app_url, timeout=30, headers=admin) as api:
            idle_done = asyncio.Event()
            idle = asyncio.create_task(_probe(api, idle_done))
            await asyncio.sleep(10)
            idle_done.set()
            with phase("dry runs: one over every retained event"):
                busy_done = asyncio.Event()
                busy = asyncio.create_task(_probe(api, busy_done))
                start = time.perf_counter()
                r = await api.post("/rules/dry-runs", json={"rule_set": CANDIDATE})
                if r.status_code != 202:
                    raise RuntimeError(f"dry run not started: HTTP {r.status_code} {r.text}")
                while True:
                    found = (await api.get(r.headers["location"])).json()
                    if found["status"] != "running":
                        break
                    await asyncio.sleep(0.5)
                seconds = time.perf_counter() - start
                busy_done.set()
            if found["status"] != "done":
                raise RuntimeError(f"dry run {found['status']}: {found['error']}")
            return {
                "events": found["events_done"],
                "students": found["students_done"],
                "seconds": round(seconds, 1),
                "events_per_s": round(found["events_done"] / seconds),
                "healthz_idle": summary(await idle),
                "healthz_during": summary(await busy),
            }
    finally:
        await conn.execute("DELETE FROM learning_events WHERE student_id LIKE $1", f"{PREFIX}-%")
        await conn.close()


async def main() -> None:
    stack = replica(1)
    stack.up()
    try:
        sys.stdout.write(json.dumps(await dry_runs(replica_ports(1))) + "\n")
    finally:
        stack.down()


if __name__ == "__main__":
    stop_on_sigterm()
    asyncio.run(main())
