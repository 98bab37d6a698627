"""xAPI statements from a real xAPI client (Ralph's LRS HTTP backend, ``ralph-malph``)
to the running service (docs/xapi.md): a rostered student's statements become mastery
and an alert visible in the class view; sent again they change nothing; a statement
producer's credential reaches the statements resource and nothing else; bad input is
refused with reasons and nothing of a refused request is taken."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from ralph.backends.data.async_lrs import AsyncLRSDataBackend
from ralph.backends.data.lrs import LRSDataBackendSettings
from ralph.exceptions import BackendException

from tests.integration.stack import Ports
from tests.integration.support import applied, bearer, eventually, put_class

COURSE = "https://lms.school.example/course/python-loops"  # config/xapi-mapping.toml
VERB = "http://adlnet.gov/expapi/verbs/"
TYPE = "http://adlnet.gov/expapi/activities/"
V = {"X-Experience-API-Version": "1.0.3"}


@pytest.fixture
async def producer(api: httpx.AsyncClient) -> tuple[str, str]:
    producer_id = f"lms-{uuid.uuid4().hex[:8]}"
    r = await api.post("/statement-producers", json={"producer_id": producer_id, "name": "LMS"})
    assert r.status_code == 201, r.text
    return producer_id, r.json()["secret"]


@pytest.fixture
async def lrs(ports: Ports, producer: tuple[str, str]) -> AsyncIterator[AsyncLRSDataBackend]:
    """Ralph's LRS backend pointed at the service, with the producer's credentials."""
    backend = AsyncLRSDataBackend(
        LRSDataBackendSettings(
            BASE_URL=ports.app_url,
            USERNAME=producer[0],
            PASSWORD=producer[1],
            STATEMENTS_ENDPOINT="/xapi/statements",
        )
    )
    yield backend
    await backend.close()


@pytest.fixture
async def xapi(ports: Ports, producer: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP with the producer's credentials, for what Ralph's client cannot send
    (PUT, wrong headers, broken bodies)."""
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=15, auth=producer) as client:
        yield client


def statement(student: str, verb: str, kind: str, obj: str, **parts: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": "https://lms", "name": student}},
        "verb": {"id": VERB + verb},
        "object": {"objectType": "Activity", "id": obj, "definition": {"type": TYPE + kind}},
        "context": {"contextActivities": {"parent": [{"id": COURSE}]}},
        "timestamp": "2026-11-25T10:00:00+00:00",
        **parts,
    }


def moodle_like_session(student: str) -> list[dict[str, Any]]:
    """Answered questions (right / wrong only, as Moodle sends them), a failed graded quiz
    (completed assessment, low score), and a statement no rule covers."""
    q = "https://lms.school.example/mod/quiz/q"
    return [
        statement(student, "attempted", "assessment", q + "1"),
        statement(student, "answered", "cmi.interaction", q + "1/a", result={"success": True}),
        statement(student, "answered", "cmi.interaction", q + "1/b", result={"success": False}),
        statement(
            student,
            "completed",
            "assessment",
            q + "1",
            result={"score": {"raw": 2, "min": 0, "max": 10, "scaled": 0.2}, "success": False},
        ),  # fmt: skip
        statement(student, "experienced", "lesson", "https://lms.school.example/page/9"),
    ]


async def test_a_real_clients_statements_become_mastery_and_an_alert_in_the_class_view(
    api: httpx.AsyncClient, lrs: AsyncLRSDataBackend, xapi: httpx.AsyncClient
) -> None:
    student = f"it-x-{uuid.uuid4().hex[:8]}"
    class_id = f"cls-x-{uuid.uuid4().hex[:8]}"
    await put_class(api, class_id, ["teacher-x"], [student])
    session = moodle_like_session(student)
    assert await lrs.write(session) == len(session)

    progress = await applied(api, student, 4)  # 4 mapped, 1 ignored
    [topic] = [t for t in progress["topics"] if t["topic_id"] == "python.loops"]
    assert topic["mastery_probability"] is not None

    async def low_quiz() -> list[dict[str, Any]]:
        r = await api.get("/struggles", params={"student_id": student, "kind": "low_quiz"})
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    [alert] = await eventually(low_quiz)
    assert alert["severity"] == "high" and alert["topic_id"] == "python.loops"
    teacher = bearer("teacher", "teacher-x")
    r = await api.get(f"/classes/{class_id}/students", headers=teacher)
    [row] = r.json()["items"]
    assert row["student_id"] == student and row["topics"]["python.loops"] is not None

    # sent again (Ralph retries a whole chunk): accepted, nothing changes
    assert await lrs.write(session) == len(session)
    again = await xapi.post("/xapi/statements", json=session, headers=V)
    assert again.status_code == 200 and again.json() == [s["id"] for s in session]
    assert again.headers["X-Progress-Statements"] == "mapped=0, ignored=0, duplicate=5"
    assert again.headers["X-Experience-API-Version"] == "1.0.3"
    later = statement(student, "attempted", "assessment", "https://lms.school.example/q/2")
    assert await lrs.write([later]) == 1
    progress = await applied(api, student, 5)  # the copies came before it, in order
    assert progress["events_applied"] == 5
    assert len(await low_quiz()) == 1

    # the same id with other content: 409, through the client too
    changed = {**session[1], "result": {"success": False}}
    conflict = await xapi.post("/xapi/statements", json=[changed], headers=V)
    assert conflict.status_code == 409 and conflict.json()["statement_id"] == changed["id"]
    with pytest.raises(BackendException):
        await lrs.write([changed])


async def test_put_takes_one_statement_under_its_id_and_erasure_holds(
    api: httpx.AsyncClient, xapi: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    student = f"it-x-{uuid.uuid4().hex[:8]}"
    s = statement(student, "answered", "question", "https://lms/q", result={"success": True})
    sid = s.pop("id")
    r = await xapi.put("/xapi/statements", params={"statementId": sid}, json=s, headers=V)
    assert r.status_code == 204 and r.headers["X-Progress-Statements"].startswith("mapped=1")
    r = await xapi.put("/xapi/statements", params={"statementId": sid}, json=s, headers=V)
    assert r.status_code == 204 and r.headers["X-Progress-Statements"].endswith("duplicate=1")
    other = str(uuid.uuid4())
    r = await xapi.put(
        "/xapi/statements", params={"statementId": other}, json={**s, "id": sid}, headers=V
    )
    assert r.status_code == 400 and "is not statementId" in r.json()["detail"]
    assert (await applied(api, student, 1))["events_applied"] == 1

    # erased with the student; the statement sent again stays a duplicate: still erased
    assert (await api.delete(f"/students/{student}")).status_code == 200
    r = await xapi.put("/xapi/statements", params={"statementId": sid}, json=s, headers=V)
    assert r.status_code == 204 and r.headers["X-Progress-Statements"].endswith("duplicate=1")
    marker = statement(student, "attempted", "question", "https://lms/q2")
    assert (await xapi.post("/xapi/statements", json=[marker], headers=V)).status_code == 200
    logged = "select event_id from learning_events where student_id = $1"

    async def marker_logged() -> bool:
        return marker["id"] in [r[0] for r in await pg.fetch(logged, student)]

    await eventually(marker_logged)  # one partition: had the copy gone out, it came first
    assert [r[0] for r in await pg.fetch(logged, student)] == [marker["id"]]
    assert (await applied(api, student, 1))["events_applied"] == 1


async def test_a_producer_credential_reaches_the_statements_and_nothing_else(
    ports: Ports, api: httpx.AsyncClient, producer: tuple[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=15, auth=producer) as as_lms:
        for method, path in [
            ("GET", "/progress/anyone"),
            ("GET", "/classes"),
            ("GET", "/statement-producers"),
            ("DELETE", f"/statement-producers/{producer[0]}"),
            ("GET", "/struggles"),
        ]:
            r = await as_lms.request(method, path)
            assert r.status_code == 401, (method, path, r.status_code)
        ok = await as_lms.post("/xapi/statements", json=[], headers=V)
        assert ok.status_code == 200
    teacher = await api.post("/xapi/statements", json=[], headers={**V, **bearer("teacher")})
    assert teacher.status_code == 403
    wrong = await httpx.AsyncClient(base_url=ports.app_url, auth=(producer[0], "nope")).post(
        "/xapi/statements", json=[], headers=V
    )
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")
    # listed without its secret
    listed = (await api.get("/statement-producers")).json()
    [mine] = [p for p in listed if p["producer_id"] == producer[0]]
    assert "secret" not in mine and "secret_sha256" not in json.dumps(mine)


async def test_rotation_keeps_the_old_secret_for_its_grace_and_revocation_ends_both(
    ports: Ports, api: httpx.AsyncClient, producer: tuple[str, str]
) -> None:
    pid, old = producer

    async def status(secret: str) -> int:
        async with httpx.AsyncClient(base_url=ports.app_url, auth=(pid, secret)) as c:
            return (await c.post("/xapi/statements", json=[], headers=V)).status_code

    r = await api.post(f"/statement-producers/{pid}/rotate", json={"previous_valid_for_s": 3600})
    assert r.status_code == 200
    new = r.json()["secret"]
    assert (await status(old), await status(new)) == (200, 200)
    r = await api.post(f"/statement-producers/{pid}/rotate", json={})
    newest = r.json()["secret"]
    assert (await status(new), await status(newest)) == (401, 200)
    assert (await api.delete(f"/statement-producers/{pid}")).status_code == 204
    assert await status(newest) == 401


async def test_bad_input_is_refused_with_reasons_and_nothing_is_half_taken(
    ports: Ports, api: httpx.AsyncClient, xapi: httpx.AsyncClient
) -> None:
    student = f"it-x-{uuid.uuid4().hex[:8]}"
    good = statement(student, "answered", "question", "https://lms/q", result={"success": True})

    async def refused(
        body: Any, headers: dict[str, str] = V, raw: bytes | None = None
    ) -> dict[str, Any]:
        if raw is not None:
            r = await xapi.post(
                "/xapi/statements",
                content=raw,
                headers={**headers, "content-type": "application/json"},
            )
        else:
            r = await xapi.post("/xapi/statements", json=body, headers=headers)
        assert r.status_code == 400, r.text
        assert r.headers["X-Experience-API-Version"] == "1.0.3"
        problem: dict[str, Any] = r.json()
        return problem

    assert "not JSON" in (await refused(None, raw=b'{"actor": '))["detail"]
    assert "missing X-Experience-API-Version" in (await refused([good], headers={}))["detail"]
    assert (
        "not supported"
        in (await refused([good], headers={"X-Experience-API-Version": "1.1.0"}))["detail"]
    )
    no_id = {**good, "id": str(uuid.uuid4()), "actor": {"openid": "https://id.example/ada"}}
    p = await refused([good, no_id])
    assert (p["statement_index"], p["field"]) == (1, "actor")
    out_of_range = {
        **good,
        "id": str(uuid.uuid4()),
        "result": {"score": {"raw": -5, "min": 0, "max": 10}},
    }
    p = await refused([good, out_of_range])
    assert (p["statement_index"], p["field"]) == (1, "result.score.raw")
    scaled = {**good, "id": str(uuid.uuid4()), "result": {"score": {"scaled": 2}}}
    assert (await refused([scaled]))["field"] == "result.score.scaled"
    p = await refused([good, {**good}])
    assert p["statement_index"] == 1 and "also statement 0" in p["detail"]
    assert "at most 1000" in (await refused([good] * 1001))["detail"]
    big = await xapi.post(
        "/xapi/statements",
        content=b"[" + b" " * (4 * 1024 * 1024) + b"]",
        headers={**V, "content-type": "application/json"},
    )
    assert big.status_code == 413 and big.headers["X-Experience-API-Version"] == "1.0.3"

    # none of that took the good statement: sent alone now, it is new
    r = await xapi.post("/xapi/statements", json=[good], headers=V)
    assert r.status_code == 200 and r.headers["X-Progress-Statements"].startswith("mapped=1")
    assert (await applied(api, student, 1))["events_applied"] == 1


async def test_the_about_resource_needs_no_credentials(ports: Ports) -> None:
    async with httpx.AsyncClient(base_url=ports.app_url) as anonymous:
        r = await anonymous.get("/xapi/about")
    assert r.status_code == 200 and r.json() == {"version": ["1.0.3"]}
    assert r.headers["X-Experience-API-Version"] == "1.0.3"
