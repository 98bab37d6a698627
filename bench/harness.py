"""Shared by the fault suite and the benchmark: publish a known stream into Kafka,
compute the state it must produce with the pure domain logic, and compare with what
the running service holds (over HTTP and in the alert table)."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from actors.config import DomainConfig
from actors.events import parse_event
from actors.progress_view import progress_view
from actors.rules import apply_event
from actors.state import StudentState
from bench.workload import Event
from tests.integration.stack import ProgressBar

# Kinds raised by reminders depend on wall-clock time, not on the stream: not compared.
TIME_BASED = {"stuck", "inactivity"}


@dataclass
class Expected:
    progress: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: dict[str, set[tuple[str, str | None]]] = field(default_factory=dict)


def expected_state(events: Iterable[Event], config: DomainConfig) -> Expected:
    """Replay the stream, per student in publish order, through the pure engine."""
    states: dict[str, StudentState] = {}
    alerts: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
    for e in events:
        state = states.get(e.student_id) or StudentState(student_id=e.student_id)
        states[e.student_id], outcome = apply_event(state, parse_event(e.type, e.data), config)
        for alert in outcome.alerts:
            alerts[e.student_id].add((alert.kind, alert.topic_id))
    out = Expected()
    for sid, state in states.items():
        out.progress[sid] = progress_view(state, config)
        out.alerts[sid] = alerts.get(sid, set())
    return out


def process_memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of a process from /proc (VmRSS now, VmHWM peak); 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def wait_until_applied(
    api: httpx.AsyncClient, expected: Expected, timeout: float
) -> dict[str, dict[str, Any]]:
    """Poll GET /progress until every student has applied its expected event count."""
    deadline = asyncio.get_running_loop().time() + timeout
    pending = dict.fromkeys(expected.progress, 0)
    seen: dict[str, dict[str, Any]] = {}
    bar = ProgressBar("students complete", len(pending))
    while pending:
        bar.update(len(expected.progress) - len(pending))
        for sid in list(pending):
            r = await api.get(f"/progress/{sid}")
            if r.status_code == 200:
                body = r.json()
                seen[sid] = body
                if body["events_applied"] >= expected.progress[sid]["events_applied"]:
                    del pending[sid]
        if not pending:
            break
        if asyncio.get_running_loop().time() > deadline:
            lagging = {
                s: (seen.get(s, {}).get("events_applied"), expected.progress[s]["events_applied"])
                for s in list(pending)[:5]
            }
            raise AssertionError(f"{len(pending)} students incomplete; e.g. {lagging}")
        await asyncio.sleep(0.5)
    return seen


def _comparable(progress: dict[str, Any]) -> dict[str, Any]:
    keep = ("overall_mastery", "streak_days", "events_applied")
    topics = {t["topic_id"]: (t["score"], t["level"], t["components"]) for t in progress["topics"]}
    return {**{k: progress[k] for k in keep}, "topics": topics}


async def compare(api: httpx.AsyncClient, pg: asyncpg.Connection, expected: Expected) -> list[str]:
    """Differences between the service's state and the expected one (empty = equal)."""
    problems = []
    for sid, want in expected.progress.items():
        r = await api.get(f"/progress/{sid}")
        if r.status_code != 200:
            problems.append(f"{sid}: GET /progress {r.status_code}")
            continue
        got, exp = _comparable(r.json()), _comparable(want)
        if got != exp:
            problems.append(f"{sid}: state differs: got {got} expected {exp}")
    rows = await pg.fetch(
        "select student_id, kind, topic_id from struggle_alerts where student_id = any($1)",
        list(expected.progress),
    )
    counts = Counter(
        (r["student_id"], r["kind"], r["topic_id"]) for r in rows if r["kind"] not in TIME_BASED
    )
    for key, n in counts.items():
        if n > 1:
            problems.append(f"duplicate alert {key} x{n}")
    got_alerts: dict[str, set[tuple[str, str | None]]] = defaultdict(set)
    for sid, kind, topic in counts:
        got_alerts[sid].add((kind, topic))
    for sid, want_alerts in expected.alerts.items():
        if got_alerts.get(sid, set()) != want_alerts:
            problems.append(
                f"{sid}: alerts {sorted(got_alerts.get(sid, set()), key=str)} "
                f"expected {sorted(want_alerts, key=str)}"
            )
    return problems
