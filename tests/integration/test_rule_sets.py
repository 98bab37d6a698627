"""The retained events at work: the per-exercise class view, and rule sets — a dry run
that reports what a changed threshold would do on a known stream and touches nothing
live, then the apply that makes new alerts record the new version."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.integration.support import Student, applied, bearer, eventually, put_class

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


async def test_exercise_insight_of_a_class(api: httpx.AsyncClient, dapr: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex[:8]
    a, b, c = (Student(dapr, f"ex-{tag}-{n}") for n in "abc")
    await put_class(api, f"ex-{tag}", [f"ext-{tag}"], [a.id, b.id, c.id])
    await a.send("exercise.started", "python.loops", exercise_id="ex1", occurred_at=at(0))
    for _ in range(2):
        await a.send(
            "code.executed",
            "python.loops",
            exercise_id="ex1",
            success=False,
            error_type="TypeError",
            occurred_at=at(2),
        )
    await a.send(
        "exercise.submitted",
        "python.loops",
        exercise_id="ex1",
        passed=False,
        score=20,
        occurred_at=at(5),
    )
    await a.send(
        "exercise.submitted",
        "python.loops",
        exercise_id="ex1",
        passed=True,
        score=90,
        occurred_at=at(10),
    )
    await b.send("exercise.started", "python.loops", exercise_id="ex1", occurred_at=at(0))
    passed = await b.send(
        "exercise.submitted",
        "python.loops",
        exercise_id="ex1",
        passed=True,
        score=80,
        occurred_at=at(20),
    )
    await c.send(
        "code.executed",
        "python.loops",
        exercise_id="ex1",
        success=False,
        error_type="NameError",
        occurred_at=at(3),
    )
    # a redelivered event counts once
    await b.send(
        "exercise.submitted",
        "python.loops",
        exercise_id="ex1",
        passed=True,
        score=80,
        occurred_at=at(20),
        event_id=passed,
    )
    for s in (a, b, c):
        await applied(api, s.id, s.published - (1 if s is b else 0))

    teacher = bearer("teacher", f"ext-{tag}")

    async def insight() -> dict[str, Any] | None:
        r = await api.get(f"/classes/ex-{tag}/exercises", headers=teacher)
        assert r.status_code == 200, r.text
        found = r.json()["exercises"]
        return found[0] if found and found[0]["attempts"] == 3 else None

    ex1 = await eventually(insight)
    assert ex1 == {
        "exercise_id": "ex1",
        "topic_id": "python.loops",
        "attempts": 3,
        "passing_attempts": 2,
        "pass_rate": 0.667,
        "students_started": 2,
        "students_attempted": 2,
        "students_passed": 2,
        "median_minutes_to_first_pass": 15.0,
        "top_errors": [
            {"error_type": "TypeError", "count": 2},
            {"error_type": "NameError", "count": 1},
        ],
    }
    elsewhere = await api.get(f"/classes/ex-{tag}/exercises", headers=bearer("teacher", "nobody"))
    assert elsewhere.status_code == 404


async def alerts_of(api: httpx.AsyncClient, sid: str) -> list[dict[str, Any]]:
    r = await api.get("/struggles", params={"student_id": sid})
    items: list[dict[str, Any]] = r.json()["items"]
    return sorted(items, key=lambda a: a["id"])


async def test_dry_run_then_apply(api: httpx.AsyncClient, dapr: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex[:8]
    student = Student(dapr, f"dr-{tag}")
    await put_class(api, f"dr-{tag}", [], [student.id])
    for i in range(4):
        await student.send(
            "code.executed",
            "python.loops",
            success=False,
            error_type="NameError",
            occurred_at=at(i),
        )
    await student.send(
        "exercise.quiz_graded", "python.loops", quiz_id="q", score=45, occurred_at=at(5)
    )
    await applied(api, student.id, 5)
    before_alerts = await alerts_of(api, student.id)
    assert {a["kind"] for a in before_alerts} >= {"repeated_error", "low_quiz"}
    before_progress = (await api.get(f"/progress/{student.id}")).json()

    stricter = {"thresholds": {"repeated_error_count": 5, "quiz_low_below": 40}, "note": "fewer"}
    r = await api.post("/rules/dry-run", json={"rule_set": stricter, "class_id": f"dr-{tag}"})
    assert r.status_code == 200, r.text
    report = r.json()
    kinds = {k["kind"]: k for k in report["kinds"]}
    assert report["students"] == 1 and report["events"] == 5
    assert (kinds["repeated_error"]["raised_now"], kinds["repeated_error"]["removed"]) == (1, 1)
    assert (kinds["low_quiz"]["raised_now"], kinds["low_quiz"]["removed"]) == (1, 1)
    assert all(k["added"] == 0 for k in report["kinds"])
    # nothing live changed: alerts, progress, the rules in force
    assert await alerts_of(api, student.id) == before_alerts
    assert (await api.get(f"/progress/{student.id}")).json() == before_progress
    in_force_before = [s["version"] for s in (await api.get("/rules/sets")).json() if s["in_force"]]

    # bad requests are refused with a reason, and lose nothing
    for bad in (
        {},
        {"rule_set": stricter, "version": 1},
        {"rule_set": {"thresholds": {"quiz_low_below": 500}}},
    ):
        r = await api.post("/rules/dry-run", json=bad)
        assert r.status_code == 422 and r.json()["detail"], bad
    teacher = await api.post(
        "/rules/dry-run", json={"rule_set": stricter}, headers=bearer("teacher", "t")
    )
    assert teacher.status_code == 403

    created = await api.post("/rules/sets", json=stricter)
    assert created.status_code == 201, created.text
    version = created.json()["version"]
    assert not created.json()["in_force"]
    again = await api.post("/rules/dry-run", json={"version": version, "class_id": f"dr-{tag}"})
    assert again.json()["kinds"] == report["kinds"]
    # a range at the start of time is empty, not an error (found by the contract test)
    early = await api.post(
        "/rules/dry-run", json={"version": version, "to": "0001-01-01T00:01:00Z"}
    )
    assert early.status_code == 200 and early.json()["events"] == 0, early.text
    assert [
        s["version"] for s in (await api.get("/rules/sets")).json() if s["in_force"]
    ] == in_force_before

    try:
        r = await api.post(f"/rules/sets/{version}/apply")
        assert r.status_code == 200 and r.json()["in_force"], r.text
        # a new student's fifth NameError raises under the applied version
        fresh = Student(dapr, f"dr-{tag}-new")
        for _ in range(5):
            await fresh.send("code.executed", "python.loops", success=False, error_type="NameError")
        await applied(api, fresh.id, 5)
        [repeated] = [a for a in await alerts_of(api, fresh.id) if a["kind"] == "repeated_error"]
        assert repeated["rule"]["version"] == version
        assert repeated["rule"]["thresholds"] == {"repeated_error_count": 5}
        assert repeated["details"]["count"] == 5
    finally:  # the settings' thresholds again, for the tests after this one
        restore = await api.post("/rules/sets", json={"note": "the settings' thresholds"})
        r = await api.post(f"/rules/sets/{restore.json()['version']}/apply")
        assert r.status_code == 200


async def finished(api: httpx.AsyncClient, location: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        r = await api.get(location)
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found if found["status"] != "running" else None

    result: dict[str, Any] = await eventually(done, timeout=120)
    return result


async def test_a_background_dry_run_reports_what_the_request_does(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    """A dry run over more events than a request answers runs in the background; over a
    class it reports exactly what the in-request dry run does. One runs at a time; one
    whose replica stopped is reported failed, with why."""
    tag = uuid.uuid4().hex[:8]
    student = Student(dapr, f"bg-{tag}")
    await put_class(api, f"bg-{tag}", [], [student.id])
    for i in range(3):
        await student.send(
            "code.executed", "python.io", success=False, error_type="KeyError", occurred_at=at(i)
        )
    await student.send(
        "exercise.quiz_graded", "python.io", quiz_id="q", score=30, occurred_at=at(4)
    )
    await applied(api, student.id, 4)
    body = {"rule_set": {"thresholds": {"repeated_error_count": 4}}, "class_id": f"bg-{tag}"}
    inline = await api.post("/rules/dry-run", json=body)
    assert inline.status_code == 200, inline.text

    r = await api.post("/rules/dry-runs", json=body)
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["status"] == "running" and started["events_total"] == 4
    assert r.headers["location"] == f"/rules/dry-runs/{started['id']}"
    done = await finished(api, r.headers["location"])
    assert done["status"] == "done" and done["error"] is None, done
    assert (done["events_done"], done["students_done"]) == (4, 1)
    assert done["candidate"]["thresholds"]["repeated_error_count"] == 4
    expected = inline.json()
    assert done["report"] == {k: expected[k] for k in done["report"]}
    assert {k["kind"]: k["removed"] for k in done["report"]["kinds"]}["repeated_error"] == 1
    listed = (await api.get("/rules/dry-runs")).json()
    assert listed[0]["id"] == started["id"] and listed[0]["report"] is None

    # every retained event (more than a request answers once the suite has run)
    whole = await api.post("/rules/dry-runs", json={"rule_set": {"note": "same as now"}})
    assert whole.status_code == 202, whole.text
    everything = await finished(api, whole.headers["location"])
    assert everything["status"] == "done", everything
    assert everything["events_done"] == everything["events_total"] > 0
    # the rules in force against themselves: nothing added or removed
    assert all(k["added"] == k["removed"] == 0 for k in everything["report"]["kinds"])
    assert sum(k["raised_now"] for k in everything["report"]["kinds"]) > 0

    # one runs at a time (here: one another replica runs, its heartbeat fresh)...
    other = uuid.uuid4()
    await pg.execute(
        "INSERT INTO dry_runs (id, status, requested_by, since, until, current_version, "
        "candidate, students_total, events_total) VALUES ($1, 'running', 'admin', now(), "
        "now(), 0, '{}', 0, 0)",
        other,
    )
    refused = await api.post("/rules/dry-runs", json=body)
    assert refused.status_code == 409 and refused.json()["running"] == str(other), refused.text
    # ... until that replica stops writing its heartbeat: failed, with why; the next starts
    await pg.execute(
        "UPDATE dry_runs SET heartbeat_at = now() - interval '5 minutes' WHERE id = $1", other
    )
    stale = (await api.get(f"/rules/dry-runs/{other}")).json()
    assert stale["status"] == "failed" and "replica" in stale["error"], stale
    assert (await api.post("/rules/dry-runs", json=body)).status_code == 202

    # bad requests, others' eyes
    assert (await api.get(f"/rules/dry-runs/{uuid.uuid4()}")).status_code == 404
    assert (await api.get("/rules/dry-runs/not-a-uuid")).status_code == 404
    assert (await api.post("/rules/dry-runs", json={"class_id": "x"})).status_code == 422
    teacher = bearer("teacher", "t")
    assert (await api.post("/rules/dry-runs", json=body, headers=teacher)).status_code == 403
    assert (await api.get("/rules/dry-runs", headers=teacher)).status_code == 403
