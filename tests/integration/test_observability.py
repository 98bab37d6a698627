"""Logs and metrics of the running service: one line per delivery batch and per student
turn, the producer's trace id (from the CloudEvent's traceparent) on the turn's line,
trace ids in every request's line, no secrets in logs, each metric moving."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import httpx

from service.dev_token import mint
from tests.integration.stack import REPO
from tests.integration.support import Student, applied, cloud_event, eventually

LOGS = Path(os.environ.get("STACK_DIR", REPO / ".stack")) / "logs"
# the front end's requests and, split, the actor host's turns (tests/integration/stack.py)
APP_LOGS = ("test-app.log", "test-actors-app.log")


def log_text() -> str:
    return "".join(
        (LOGS / name).read_text(errors="replace") for name in APP_LOGS if (LOGS / name).exists()
    )


def log_lines() -> list[dict[str, Any]]:
    lines = []
    for raw in log_text().splitlines():
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return lines


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_turn_log_line_carries_the_trace_id_from_traceparent(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, student_id: str
) -> None:
    trace_id = secrets.token_hex(16)
    event = cloud_event(
        "exercise.quiz_graded",
        {
            "event_id": f"{student_id}-traced",
            "student_id": student_id,
            "occurred_at": "2026-11-25T10:00:00Z",
            "topic_id": "python.loops",
            "quiz_id": "q",
            "score": 70,
        },
    )
    r = await dapr.post(
        "/v1.0/publish/kafka-pubsub/exercise.events",
        content=json.dumps(event),
        params={"metadata.partitionKey": student_id},
        headers={
            "content-type": "application/cloudevents+json",
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        },
    )
    assert r.status_code == 204
    await applied(api, student_id, 1)

    async def turn() -> dict[str, Any] | None:
        return next(
            (
                line
                for line in log_lines()
                if line.get("event") == "student_turn" and line.get("student_id") == student_id
            ),
            None,
        )

    line = await eventually(turn)
    assert trace_id in line["trace_ids"]
    assert (line["events"], line["applied"], line["duplicates"]) == (1, 1, 0)
    assert line["duration_ms"] > 0 and line["save_ms"] > 0

    async def batch() -> dict[str, Any] | None:
        return next(
            (
                line
                for line in log_lines()
                if line.get("event") == "batch_handled" and line.get("applied", 0) >= 1
            ),
            None,
        )

    line = await eventually(batch)
    assert line["entries"] >= 1 and line["students"] >= 1 and line["duration_ms"] > 0


async def test_request_log_line_has_trace_id_and_no_token(
    anonymous: httpx.AsyncClient, student_id: str
) -> None:
    token = mint("teacher", "log-test")
    trace_id = secrets.token_hex(16)
    r = await anonymous.get(
        f"/progress/{student_id}",
        headers={
            "Authorization": f"Bearer {token}",
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
        },
    )
    assert r.status_code == 404
    bad = await anonymous.get("/struggles", headers={"Authorization": f"Bearer {token}x"})
    assert bad.status_code == 401

    async def logged() -> dict[str, Any] | None:
        return next(
            (
                line
                for line in log_lines()
                if line.get("trace_id") == trace_id and line.get("event") == "request"
            ),
            None,
        )

    line = await eventually(logged)
    assert (line["route"], line["status"]) == ("/progress/{student_id}", 404)
    text = log_text()
    assert token not in text and token.split(".")[1] not in text


async def test_metrics_move(
    api: httpx.AsyncClient, host_api: httpx.AsyncClient, dapr: httpx.AsyncClient, student_id: str
) -> None:
    before = (await host_api.get("/metrics")).text  # the intake's and the actors'
    front_before = (await api.get("/metrics")).text  # the requests' (the same when not split)
    student = Student(dapr, student_id)
    await student.send(
        "exercise.quiz_graded", "python.loops", event_id=f"{student_id}-m1", quiz_id="q", score=10
    )
    await student.send(
        "exercise.quiz_graded", "python.loops", event_id=f"{student_id}-m1", quiz_id="q", score=10
    )  # duplicate
    await student.send("exercise.quiz_graded", "python.loops", quiz_id="q", score=150)  # poison
    await student.send("code.reviewed", "python.loops", quality=80)
    await applied(api, student_id, 2)
    await api.get(f"/progress/{student_id}")

    async def after() -> str | None:
        text = (await host_api.get("/metrics")).text
        moved = metric(text, "progress_events_total", outcome="duplicate") > metric(
            before, "progress_events_total", outcome="duplicate"
        )
        poison = metric(text, "progress_events_total", outcome="poison") > metric(
            before, "progress_events_total", outcome="poison"
        )
        return text if moved and poison else None

    text = await eventually(after)
    for name, labels in [
        ("progress_events_total", {"type": "exercise.quiz_graded", "outcome": "applied"}),
        ("progress_event_duration_seconds_count", {"type": "code.reviewed"}),
        ("progress_struggles_raised_total", {"kind": "low_quiz"}),
        ("progress_actor_activations_total", {}),
    ]:
        assert metric(text, name, **labels) > metric(before, name, **labels), (name, labels)
    requests = ("progress_http_request_duration_seconds_count", {"route": "/progress/{student_id}"})
    front_text = (await api.get("/metrics")).text
    assert metric(front_text, requests[0], **requests[1]) > metric(
        front_before, requests[0], **requests[1]
    )
    assert metric(text, "progress_alerts_open", kind="low_quiz") >= 1
    assert student_id not in text  # no per-student series
