"""Mixed versions on the real stack (decision 012): a student's state row as the next
release would store it — a field of its own at every level, a newer schema_version that
this release may read, and an effect kind this release does not know in its outbox — is
served, takes new events, and is written back by this release with nothing lost."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx

from tests.integration.stack import Ports
from tests.integration.support import applied, publish, student_event
from tests.unit.test_state_compatibility import (
    UNKNOWN_EFFECT,
    added_fields,
    written_by_next_release,
)


def quiz(student_id: str, event_id: str, score: float) -> dict[str, Any]:
    return student_event(
        "exercise.quiz_graded",
        student_id,
        event_id,
        occurred_at="2026-11-26T10:00:00Z",
        topic_id="python.loops",
        quiz_id="q",
        score=score,
    )


async def test_state_of_the_next_release_is_read_and_written_back_without_loss(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, pg: asyncpg.Connection, student_id: str
) -> None:
    key = f"{Ports().app_id}||StudentProgressActor||{student_id}||student"
    doc = json.loads(json.dumps(written_by_next_release()).replace('"nx', f'"{student_id}'))
    # The stored exercise start is long overdue on the wall clock: its stuck alert would
    # fire and end it (as it should) while the test reads. The unit test covers its field.
    doc["topics"]["python.loops"]["pending_exercises"] = []
    await pg.execute(
        "INSERT INTO dapr_actor_state (key, value, isbinary) VALUES ($1, $2::jsonb, false)",
        key,
        json.dumps(json.dumps(doc)),  # stored as one JSON text (decision 004)
    )
    r = await api.get(f"/progress/{student_id}")
    assert r.status_code == 200, r.text
    assert r.json()["events_applied"] == doc["events_applied"]

    await publish(dapr, "exercise.events", quiz(student_id, "mixed-1", 90), key=student_id)
    after = await applied(api, student_id, doc["events_applied"] + 1)
    loops = next(t for t in after["topics"] if t["topic_id"] == "python.loops")
    assert loops["components"]["quiz"] == 65.0  # mean of 40 (stored) and 90 (new)

    written = json.loads(
        await pg.fetchval("SELECT value #>> '{}' FROM dapr_actor_state WHERE key = $1", key)
    )
    assert added_fields(written, pending=False) == added_fields(doc, pending=False)
    assert written["outbox"][0] == {**UNKNOWN_EFFECT, "student_id": student_id}
    assert written["events_applied"] == doc["events_applied"] + 1
