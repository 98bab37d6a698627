"""make fit-mastery on the real database (service/knowledge_fit.py): a synthetic cohort's
answers in the retained event log are fitted, the fit beats the parameters in force on
the held-out students, becomes a rule set version that is not applied, and that version
can be dry-run like any other."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from actors.knowledge_tracing import BktParameters
from actors.mastery_fit import synthetic_cohort
from service.db import create_write_pool
from service.eventlog.log import EventLog, LogEntry
from service.knowledge_fit import run
from service.settings import Settings
from tests.integration.stack import Ports
from tests.integration.support import put_class

TRUTH = BktParameters(prior=0.25, learn=0.2, guess=0.15, slip=0.08)


def cohort_events(tag: str, topic: str) -> list[LogEntry]:
    """300 students' 12 submissions each, right or wrong as BKT with TRUTH draws them."""
    start = datetime.now(UTC) - timedelta(hours=6)
    events = []
    for s, answers in enumerate(synthetic_cohort(TRUTH, 300, 12, random.Random(tag))):
        sid = f"fit-{tag}-{s:03d}"
        for n, right in enumerate(answers):
            event_id = f"fit-{tag}-{s:03d}-{n:02d}"
            data: dict[str, Any] = {
                "event_id": event_id,
                "student_id": sid,
                "occurred_at": (start + timedelta(minutes=n)).isoformat(),
                "topic_id": topic,
                "exercise_id": f"ex{n}",
                "passed": right,
                "score": 90 if right else 10,
            }
            text = json.dumps(data, separators=(",", ":"))
            events.append(LogEntry(sid, event_id, "exercise.submitted", data, text))
    return events


async def test_a_fit_becomes_a_rule_set_to_dry_run(ports: Ports, api: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex[:8]
    topic = f"fit.{tag}"
    url = ports.database_url.replace("postgresql://", "postgresql+asyncpg://")
    settings = Settings(database_url=url)
    pool = await create_write_pool(settings, size=1)
    try:
        events = cohort_events(tag, topic)
        await EventLog(pool, timedelta(days=30)).write(events)
    finally:
        await pool.close()

    result = await run(settings, days=1, create=True)

    (fitted,) = [t for t in result["topics"] if t["topic_id"] == topic]
    assert fitted["fitted"] and fitted["students"] > 200
    assert abs(fitted["parameters"]["learn"] - TRUTH.learn) < 0.08
    held_out = fitted["held_out"]
    assert held_out["fitted"]["log_loss"] < held_out["in_force"]["log_loss"]
    version = result["created_rule_set"]
    assert isinstance(version, int)

    stored = (await api.get(f"/rules/sets/{version}")).json()
    assert stored["in_force"] is False
    knowledge = stored["knowledge_tracing"]
    assert knowledge["version"] == result["version"]
    kept = knowledge["topics"][topic]
    assert all(abs(kept[k] - v) < 1e-3 for k, v in fitted["parameters"].items())

    members = sorted({e.student_id for e in events})[:20]
    await put_class(api, f"fit-{tag}", [], members)
    r = await api.post("/rules/dry-run", json={"version": version, "class_id": f"fit-{tag}"})
    assert r.status_code == 200, r.text
    assert r.json()["candidate_version"] == version
