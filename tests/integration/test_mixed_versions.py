"""Mixed versions on the real stack (decision 012): a student's state row as the next
release would store it — a field of its own at every level, a newer schema_version that
this release may read, and an effect kind this release does not know in its outbox — is
served, takes new events, and is written back by this release with nothing lost.

And the call from the intake to the actor across releases (decision 019): an intake of
the previous release calls ApplyEvents with its one JSON string, and is served; an actor
host of the previous release answers ApplyEventBatch as it answers any method it does
not have, and that answer, as daprd hands it back, is what the gateway recognises to
send ApplyEvents instead."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest

from actors.interface import ACTOR_TYPE
from service.dapr.actor_gateway import ActorCallFailed, ActorGateway, no_such_method
from service.dapr.http_client import DaprHttp, PooledActorClient
from service.settings import Settings
from tests.integration.stack import Ports, stack_secret
from tests.integration.support import applied, publish, student_event
from tests.unit.factories import T0, batch_body
from tests.unit.factories import quiz as quiz_event
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


async def test_an_intake_of_the_previous_release_is_served(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, student_id: str
) -> None:
    """ApplyEvents through daprd with the body the previous release's gateway sent: the
    document as one JSON string."""
    document = json.loads(batch_body(quiz_event(80, student=student_id, event_id="old-1", at=T0)))
    r = await dapr.post(
        f"/v1.0/actors/{ACTOR_TYPE}/{student_id}/method/ApplyEvents",
        content=json.dumps(json.dumps(document)),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"outcomes": ["applied"]}
    body = await applied(api, student_id, 1)
    assert body["topics"][0]["components"]["quiz"] == 80.0


async def test_a_host_without_the_method_is_recognised_in_daprds_answer(
    ports: Ports, student_id: str
) -> None:
    """A method this host does not have fails as ApplyEventBatch fails on a host of the
    previous release (the same dispatcher, the same callbacks); the gateway tells it from
    any other failure, on the answer as daprd really hands it back."""
    settings = Settings(
        DAPR_HTTP_PORT=ports.dapr_http, DAPR_API_TOKEN=stack_secret("dapr_api_token")
    )
    http = DaprHttp(settings, timeout_s=15.0)
    gateway = ActorGateway(PooledActorClient(http))
    try:
        with pytest.raises(ActorCallFailed) as missing:
            await gateway._call(student_id, "ApplyEventBatchOfTheNextRelease", b"{}")
        assert no_such_method(missing.value, "ApplyEventBatchOfTheNextRelease")
        with pytest.raises(ActorCallFailed) as invalid:  # a failure of a method it has
            await gateway._call(student_id, "ApplyEventBatch", b'{"events": 1}')
        assert not no_such_method(invalid.value, "ApplyEventBatch")
        answer = await gateway.apply_event_batch(
            student_id, batch_body(quiz_event(70, student=student_id, event_id="new-1", at=T0))
        )
        assert answer == {"outcomes": ["applied"]}
    finally:
        await http.aclose()
