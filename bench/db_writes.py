"""CPU of the two database writes every event leads to (issue 23): the event log's insert
and the read model's write of a snapshot, one event or one snapshot per write (part
load: the coalescers find nothing else to add), through

- ``engine``: the SQLAlchemy engine, as before commit 63e072e (kept here to compare):
  ``engine.begin()`` (pool checkout with its pre-ping, BEGIN), asyncpg's connection
  under it, COMMIT;
- ``pool``: the code as it is (service/db.py ``create_write_pool``, ``idempotent``):
  a plain asyncpg pool, the insert in autocommit, the snapshot in one transaction.

``python -m bench.db_writes [WRITES] [ROUNDS]`` starts PostgreSQL (and the other backing
services: runtime/up.sh) for the bench instance, migrated, and stops what it started.
Variants alternate within each round; CPU time of this process per write (µs) and wall
time per write (ms); every round printed (the machine is shared). PostgreSQL's own CPU
is not in the figure: it is the same statements either way, plus the pre-ping and BEGIN
of the engine path.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from actors.config import DomainConfig
from actors.events import parse_event
from actors.progress_view import progress_snapshot
from actors.rules import apply_events
from actors.state import StudentState
from bench.floor.driver import backing_down, backing_up
from bench.run import replica_ports
from bench.workload import generate
from service.db import create_engine, create_write_pool, driver
from service.eventlog import log as event_log
from service.eventlog.log import LogEntry
from service.readmodel import projection
from service.settings import Settings


def _events(count: int, tag: str) -> list[LogEntry]:
    start = datetime.now(UTC) - timedelta(hours=1)
    out = []
    for e in generate(count, 200, seed=7, prefix=f"dbw-{tag}", start=start, zipf_s=0):
        data_json = json.dumps(e.data, separators=(",", ":"))
        out.append(LogEntry(e.student_id, e.data["event_id"], e.type, e.data, data_json))
    return out


def _snapshots(events: list[LogEntry]) -> list[dict[str, Any]]:
    """A snapshot after each event, as the actor's turn makes it (every topic sent)."""
    config = DomainConfig()
    states: dict[str, StudentState] = {}
    out = []
    for e in events:
        state = states.setdefault(e.student_id, StudentState(student_id=e.student_id))
        apply_events(state, [parse_event(e.type, e.data)], config, in_place=True)
        state.saved_at = datetime.now(UTC)
        out.append(progress_snapshot(state, config)[0])
    return out


async def _engine_insert(engine: AsyncEngine, events: list[LogEntry]) -> None:
    columns = [list(c) for c in zip(*(event_log._row(e) for e in events), strict=True)]
    async with engine.begin() as conn:
        await (await driver(conn)).execute(event_log._INSERT, *columns)


async def _engine_project(engine: AsyncEngine, snapshots: list[dict[str, Any]]) -> None:
    ordered = snapshots
    when = {s["student_id"]: projection._when(s) for s in ordered}
    async with engine.begin() as conn:
        await projection._write_rows(await driver(conn), ordered, when)


async def _timed(
    writes: list[Callable[[], Awaitable[None]]],
) -> tuple[float, float]:
    """(CPU µs, wall ms) per write."""
    cpu, wall = time.process_time(), time.perf_counter()
    for write in writes:
        await write()
    n = len(writes)
    return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e3


async def measure(writes: int, rounds: int) -> dict[str, Any]:
    url = replica_ports(1).database_url.replace("postgresql://", "postgresql+asyncpg://")
    settings = Settings(database_url=url)
    engine = create_engine(settings)
    pool = await create_write_pool(settings)
    log = event_log.EventLog(pool, timedelta(days=30))
    view = projection.ProgressProjection(pool)
    results: dict[str, list[tuple[float, float]]] = {}
    try:
        for r in range(rounds):
            for variant in ("engine", "pool"):
                events = _events(writes, f"{r}-{variant}-{time.time_ns()}")
                snaps = _snapshots(events)
                inserts: list[Callable[[], Awaitable[None]]]
                writes_of_snapshots: list[Callable[[], Awaitable[None]]]
                if variant == "engine":
                    inserts = [partial(_engine_insert, engine, [e]) for e in events]
                    writes_of_snapshots = [partial(_engine_project, engine, [s]) for s in snaps]
                else:
                    inserts = [partial(log._insert, [e]) for e in events]
                    writes_of_snapshots = [partial(view.write, [s]) for s in snaps]
                for name, work in (("insert", inserts), ("snapshot", writes_of_snapshots)):
                    figure = await _timed(work)
                    results.setdefault(f"{name}/{variant}", []).append(figure)
                    sys.stdout.write(
                        f"round {r + 1} {name:8} {variant:6}: {figure[0]:7.0f} µs CPU, "
                        f"{figure[1]:5.2f} ms wall per write\n"
                    )
                    sys.stdout.flush()
    finally:
        await pool.close()
        await engine.dispose()
    summary: dict[str, Any] = {
        key: {
            "cpu_us": [round(c) for c, _ in figures],
            "cpu_us_median": round(statistics.median(c for c, _ in figures)),
            "wall_ms_median": round(statistics.median(w for _, w in figures), 2),
        }
        for key, figures in results.items()
    }
    for name in ("insert", "snapshot"):
        engine_cpu = summary[f"{name}/engine"]["cpu_us_median"]
        pool_cpu = summary[f"{name}/pool"]["cpu_us_median"]
        summary[f"{name}/ratio"] = round(pool_cpu / engine_cpu, 2) if engine_cpu else None
    return summary


def main() -> None:
    writes = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    started = Path(tempfile.mkstemp(prefix="progress-dbw-started-")[1])
    try:
        backing_up(started)
        summary = asyncio.run(measure(writes, rounds))
    finally:
        backing_down(started)
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
