"""The teacher and operator API through the real stack: auth matrix (every route x role
x a student in or out of the teacher's classes), struggles list and pagination,
lifecycle, live stream, erasure, ops views, problem documents."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from service.auth import Principal
from service.dev_token import dev_claims, mint
from service.frontend.stream_tickets import TicketSigner, ticket_key
from service.settings import DEV_JWT_SECRET, Settings
from tests.integration.stack import Ports, Stack, stack_secret
from tests.integration.support import (
    Student,
    alerts,
    applied,
    bearer,
    eventually,
    put_class,
)

PROBLEM = "application/problem+json"
# The problem type of each status these tests meet (docs/api.md, 'Errors'; default base)
PROBLEM_TYPE = {
    400: "/problems/unknown-reference",
    401: "/problems/unauthenticated",
    403: "/problems/forbidden",
    404: "/problems/not-found",
    409: "/problems/conflict",
    422: "/problems/invalid-input",
}


async def seed_alert(
    pg: asyncpg.Connection,
    student_id: str,
    kind: str = "low_quiz",
    topic: str | None = "python.loops",
    detected_at: datetime | None = None,
) -> uuid.UUID:
    alert_id = uuid.uuid4()
    await pg.execute(
        "insert into struggle_alerts (id, student_id, kind, topic_id, severity, detected_at) "
        "values ($1, $2, $3, $4, 'low', $5)",
        alert_id,
        student_id,
        kind,
        topic,
        detected_at or datetime.now(UTC),
    )
    return alert_id


# ------------------------------------------------------------------ auth matrix
@pytest.fixture
async def seen_student(api: httpx.AsyncClient, dapr: httpx.AsyncClient, student_id: str) -> str:
    """A student the service has seen, in class ``cls-<id>`` taught by ``t-in-<id>``;
    ``t-out-<id>`` teaches another class, without them."""
    student = Student(dapr, student_id)
    await student.send("exercise.quiz_graded", "python.loops", quiz_id="q", score=90)
    await applied(api, student_id, 1)
    await put_class(api, f"cls-{student_id}", [f"t-in-{student_id}"], [student_id])
    await put_class(api, f"else-{student_id}", [f"t-out-{student_id}"], [f"x-{student_id}"])
    return student_id


ROLES: dict[str, Callable[[str], dict[str, str]]] = {
    "admin": lambda sid: bearer("admin"),
    "teacher-of-class": lambda sid: bearer("teacher", f"t-in-{sid}"),
    "teacher-elsewhere": lambda sid: bearer("teacher", f"t-out-{sid}"),
    "student-self": lambda sid: bearer("student", sid),
    "student-other": lambda sid: bearer("student", "someone-else"),
    "anonymous": lambda sid: {},
}
CLASS_BODY = {"title": "t", "teacher_ids": [], "student_ids": []}
# (method, path, body) -> expected status per role, in the order of ROLES. A student out
# of reach gets the answer an unknown one gets (404), so ids cannot be probed.
MATRIX: list[tuple[str, str, dict[str, Any] | None, tuple[int, ...]]] = [
    ("GET", "/progress/{sid}", None, (200, 200, 404, 200, 404, 401)),
    ("GET", "/progress/{sid}/history", None, (200, 200, 404, 200, 404, 401)),
    ("GET", "/struggles", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/struggles?class_id=cls-{sid}", None, (200, 200, 404, 403, 403, 401)),
    ("GET", "/struggles/{alert}", None, (200, 200, 404, 403, 403, 401)),
    ("POST", "/struggles/stream/tickets", None, (200, 200, 200, 403, 403, 401)),
    ("POST", "/struggles/{alert}/acknowledge", None, (200, 200, 404, 403, 403, 401)),
    ("POST", "/struggles/{alert}/resolve", None, (200, 200, 404, 403, 403, 401)),
    ("GET", "/rules/stats", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/rules/stats?class_id=cls-{sid}", None, (200, 200, 404, 403, 403, 401)),
    ("GET", "/rules/sets", None, (200, 403, 403, 403, 403, 401)),
    ("GET", "/rules/dry-runs", None, (200, 403, 403, 403, 403, 401)),
    ("GET", "/classes", None, (200, 200, 200, 403, 403, 401)),
    ("GET", "/classes/cls-{sid}/students", None, (200, 200, 404, 403, 403, 401)),
    ("GET", "/classes/cls-{sid}/topics", None, (200, 200, 404, 403, 403, 401)),
    ("PUT", "/classes/new-{sid}", CLASS_BODY, (200, 403, 403, 403, 403, 401)),
    ("DELETE", "/classes/cls-{sid}", None, (204, 403, 403, 403, 403, 401)),
    ("POST", "/rosters/oneroster", None, (422, 403, 403, 403, 403, 401)),
    ("GET", "/ops/actors", None, (200, 403, 403, 403, 403, 401)),
    ("GET", "/ops/students/{sid}/reminders", None, (200, 403, 403, 403, 403, 401)),
    ("GET", "/ops/intake", None, (200, 403, 403, 403, 403, 401)),
    ("DELETE", "/students/{sid}", None, (200, 403, 403, 403, 403, 401)),
    ("GET", "/health", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/metrics", None, (200, 200, 200, 200, 200, 200)),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    MATRIX,
    ids=[f"{m} {p}" for m, p, _, _ in MATRIX],
)
async def test_auth_matrix(
    anonymous: httpx.AsyncClient,
    pg: asyncpg.Connection,
    seen_student: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    expected: tuple[int, ...],
) -> None:
    alert = await seed_alert(pg, seen_student, kind="inactivity", topic=None)
    url = path.format(sid=seen_student, alert=alert)
    roles = list(ROLES)
    # DELETE by the admin last: it removes what the other roles are tried on
    order = roles[::-1] if method == "DELETE" else roles
    got = {}
    for role in order:
        r = await anonymous.request(method, url, headers=ROLES[role](seen_student), json=body)
        got[role] = r.status_code
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith(PROBLEM), r.text
            assert r.json()["detail"]
            assert r.json()["type"] == PROBLEM_TYPE[r.status_code], r.text
    assert got == dict(zip(roles, expected, strict=True))


async def test_the_stream_is_open_to_staff_only(ports: Ports, seen_student: str) -> None:
    """The SSE route in the matrix's terms (which alerts each teacher's stream carries is
    tested below)."""
    expected = dict(zip(ROLES, (200, 200, 200, 403, 403, 401), strict=True))
    got = {}
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=30) as client:
        for role, headers in ROLES.items():
            async with client.stream(
                "GET", "/struggles/stream", headers=headers(seen_student)
            ) as response:
                got[role] = response.status_code
    assert got == expected


async def test_a_teacher_reaches_only_the_students_of_their_classes(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    """Scoped in SQL: the list, a class filter, and a roster change taking effect at once."""
    tag = uuid.uuid4().hex[:8]
    mine, other = f"mine-{tag}", f"other-{tag}"
    await put_class(api, f"c-{tag}", [f"t-{tag}"], [mine])
    await put_class(api, f"d-{tag}", [f"u-{tag}"], [other])
    for sid in (mine, other):
        await seed_alert(pg, sid)
    teacher = bearer("teacher", f"t-{tag}")

    async def students(**params: str) -> list[str]:
        r = await anonymous.get(
            "/struggles", headers=teacher, params={"student_id": [mine, other], **params}
        )
        assert r.status_code == 200, r.text
        return sorted(a["student_id"] for a in r.json()["items"])

    assert await students() == [mine]
    assert await students(class_id=f"c-{tag}") == [mine]
    other_class = await anonymous.get(
        "/struggles", headers=teacher, params={"class_id": f"d-{tag}"}
    )
    assert other_class.status_code == 404
    classes = (await anonymous.get("/classes", headers=teacher)).json()["items"]
    assert [(c["class_id"], c["student_count"]) for c in classes] == [(f"c-{tag}", 1)]

    await put_class(api, f"c-{tag}", [f"t-{tag}"], [mine, other])  # roster change
    assert await students() == [mine, other]
    await api.delete(f"/classes/c-{tag}")
    assert await students() == []


def forged(claims: dict[str, Any], key: str = DEV_JWT_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def good_claims(**changes: Any) -> dict[str, Any]:
    claims = {**dev_claims("teacher", "t1", ttl_s=600), **changes}
    return {k: v for k, v in claims.items() if v is not None}


def alg_none_token() -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(good_claims())}."


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "alg none": alg_none_token,
    "wrong key": lambda: forged(good_claims(), key="not-the-secret-but-long-enough-32b"),
    "expired": lambda: forged(good_claims(exp=int(time.time()) - 3600)),
    "not yet valid": lambda: forged(good_claims(nbf=int(time.time()) + 3600)),
    "wrong issuer": lambda: forged(good_claims(iss="someone-else")),
    "wrong audience": lambda: forged(good_claims(aud="another-service")),
    "no role": lambda: forged(good_claims(role=None)),
    "unknown role": lambda: forged(good_claims(role="superuser")),
    "no exp": lambda: forged(good_claims(exp=None)),
    "no sub": lambda: forged(good_claims(sub=None)),
    "garbage": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_bad_tokens_get_401(anonymous: httpx.AsyncClient, case: str) -> None:
    r = await anonymous.get("/struggles", headers={"Authorization": f"Bearer {BAD_TOKENS[case]()}"})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["www-authenticate"] == "Bearer"
    # the same token, correctly made, is accepted
    good = {"Authorization": f"Bearer {forged(good_claims())}"}
    assert (await anonymous.get("/struggles", headers=good)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/dapr/subscribe"),
        ("GET", "/dapr/config"),
        ("POST", "/events/code.events"),
        ("PUT", "/actors/StudentProgressActor/x/method/GetProgress"),
    ],
)
async def test_dapr_facing_routes_need_the_app_token(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    r = await anonymous.request(method, path, headers=bearer("admin"), content=b"{}")
    assert r.status_code == 401 and "dapr-api-token" in r.json()["detail"]


# ------------------------------------------------------------------ list + pages
async def test_struggles_pages_have_no_gaps_or_repeats(
    api: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    students = [f"page-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    base = datetime.now(UTC) - timedelta(hours=1)
    ids = set()
    for i in range(75):
        # ties on detected_at on purpose: the id breaks them
        at = base + timedelta(seconds=i // 3)
        ids.add(await seed_alert(pg, students[i % 3], topic=f"t{i}", detected_at=at))
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("student_id", s) for s in students
        ]
        params.append(("limit", 20))
        if cursor:
            params.append(("cursor", cursor))
        r = await api.get("/struggles", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        seen.extend(body["items"])
        pages += 1
        if pages == 2:  # concurrent inserts, newer and older, while paging
            await seed_alert(pg, students[0], topic="new", detected_at=datetime.now(UTC))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    got = [uuid.UUID(a["id"]) for a in seen]
    assert pages == 4
    assert len(got) == len(set(got)), "an alert appeared on two pages"
    assert set(got) == ids, "an alert was skipped"
    keys = [(a["detected_at"], a["id"]) for a in seen]
    assert keys == sorted(keys, reverse=True)


async def test_struggles_filters(api: httpx.AsyncClient, pg: asyncpg.Connection) -> None:
    sid = f"filter-{uuid.uuid4().hex[:8]}"
    old = datetime.now(UTC) - timedelta(days=2)
    await seed_alert(pg, sid, kind="low_quiz", topic="a", detected_at=old)
    await seed_alert(pg, sid, kind="stuck", topic="b")
    resolved = await seed_alert(pg, sid, kind="help_request", topic=None)
    await pg.execute("update struggle_alerts set status='resolved' where id=$1", resolved)

    async def kinds(**params: Any) -> list[str]:
        r = await api.get("/struggles", params={"student_id": sid, **params})
        assert r.status_code == 200, r.text
        return sorted(a["kind"] for a in r.json()["items"])

    assert await kinds() == ["help_request", "low_quiz", "stuck"]
    assert await kinds(status="open") == ["low_quiz", "stuck"]
    assert await kinds(kind="stuck") == ["stuck"]
    assert await kinds(topic_id="a") == ["low_quiz"]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert await kinds(since=since) == ["help_request", "stuck"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 201}, 422),
        ({"limit": 0}, 422),
        ({"kind": "bored"}, 422),
        ({"status": "closed"}, 422),
        ({"cursor": "bm9wZQ"}, 400),
        ({"since": "yesterday"}, 422),
        ({"since": "2026-11-25T10:00:00"}, 422),
    ],
)
async def test_struggles_bad_parameters(
    api: httpx.AsyncClient, params: dict[str, Any], status: int
) -> None:
    r = await api.get("/struggles", params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM) and r.json()["detail"]
    assert r.json()["type"] == PROBLEM_TYPE[status]


class _Rollback(Exception):
    pass


async def test_struggles_queries_use_indexes_with_a_million_rows(
    pg: asyncpg.Connection, record_property: Any
) -> None:
    """EXPLAIN the list queries over 1,000,000 alert rows (inserted in a transaction that
    is rolled back). The plans, with timings, are printed for the record."""
    with pytest.raises(_Rollback):  # nothing of the million rows stays
        async with pg.transaction():
            # no triggers (no NOTIFY): change_seq and updated_at given here instead
            await pg.execute("set local session_replication_role = replica")
            await pg.execute(
                """
                insert into struggle_alerts
                    (id, student_id, kind, topic_id, severity, detected_at, status,
                     change_seq, updated_at)
                select gen_random_uuid(), 'bulk-' || (i % 20000),
                       (array['repeated_error','failed_executions','stuck','low_quiz',
                              'help_request','inactivity'])[1 + i % 6],
                       't' || i, 'low', now() - (i || ' seconds')::interval,
                       case when i % 10 = 0 then 'open' else 'resolved' end,
                       -i, now() - (i || ' seconds')::interval
                from generate_series(1, 1000000) as i
                """
            )
            await pg.execute("analyze struggle_alerts")
            queries = {
                "struggle_alerts_newest": "select * from struggle_alerts "
                "order by detected_at desc, id desc limit 51",
                "struggle_alerts_student": "select * from struggle_alerts "
                "where student_id in ('bulk-7', 'bulk-8') "
                "order by detected_at desc, id desc limit 51",
                "struggle_alerts_status": "select * from struggle_alerts where status = 'open' "
                "and (detected_at, id) < (now() - interval '1 day', gen_random_uuid()) "
                "order by detected_at desc, id desc limit 51",
                "struggle_alerts_updated_at": "select * from struggle_alerts "
                "where updated_at >= now() - interval '10 minutes' "
                "order by detected_at desc, id desc limit 51",
                "struggle_alerts_change_seq": "select * from struggle_alerts "
                "where change_seq > -1000 order by change_seq limit 500",
            }
            for index, query in queries.items():
                plan = await pg.fetchval(f"explain (analyze, format json) {query}")
                text = json.dumps(plan)
                record_property(f"{index}_ms", json.loads(plan)[0]["Execution Time"])
                assert index in text, f"{query} does not use {index}: {text}"
                assert "Seq Scan" not in text
            raise _Rollback


# ------------------------------------------------------------------ lifecycle
async def test_acknowledge_and_resolve_lifecycle(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    teacher = bearer("teacher", "ms-lee")
    sid = f"life-{uuid.uuid4().hex[:8]}"
    await put_class(api, f"class-{sid}", ["ms-lee"], [sid])
    alert = await seed_alert(pg, sid)
    ack = await anonymous.post(f"/struggles/{alert}/acknowledge", headers=teacher)
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged" and ack.json()["acknowledged_by"] == "ms-lee"
    again = await anonymous.post(f"/struggles/{alert}/acknowledge", headers=teacher)
    assert again.json()["acknowledged_at"] == ack.json()["acknowledged_at"]

    res = await anonymous.post(
        f"/struggles/{alert}/resolve", headers=teacher, json={"reason": "not_useful"}
    )
    assert res.status_code == 200
    assert (res.json()["status"], res.json()["resolution_reason"]) == ("resolved", "not_useful")
    res2 = await anonymous.post(
        f"/struggles/{alert}/resolve", headers=teacher, json={"reason": "addressed"}
    )
    assert res2.json()["resolved_at"] == res.json()["resolved_at"]
    assert res2.json()["resolution_reason"] == "not_useful"

    conflict = await anonymous.post(f"/struggles/{alert}/acknowledge", headers=teacher)
    assert conflict.status_code == 409 and "resolved" in conflict.json()["detail"]
    assert conflict.json()["type"] == "/problems/conflict"
    missing = await anonymous.post(f"/struggles/{uuid.uuid4()}/resolve", headers=teacher)
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"
    bad = await anonymous.post(
        f"/struggles/{alert}/resolve", headers=teacher, json={"reason": "meh"}
    )
    assert bad.status_code == 422
    not_uuid = await anonymous.post("/struggles/42/acknowledge", headers=teacher)
    assert not_uuid.status_code == 422


# ------------------------------------------------------------------ live stream
async def read_sse(
    source: httpx.Response | AsyncIterator[str], student_id: str | None
) -> tuple[int, dict[str, Any]]:
    """The next alert frame of ``student_id`` (of anyone with None). To read several
    frames from one response, pass one ``response.aiter_lines()`` each time."""
    lines = source.aiter_lines() if isinstance(source, httpx.Response) else source
    event: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if event.get("event") == "struggle":
                data = json.loads(event["data"])
                if student_id is None or data["student_id"] == student_id:
                    return int(event["id"]), data
            event = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            event[field] = value.lstrip()
    raise AssertionError("stream ended")


async def test_stream_delivers_alert_raised_by_published_event_and_resumes(
    ports: Ports, api: httpx.AsyncClient, dapr: httpx.AsyncClient, student_id: str
) -> None:
    await put_class(api, f"class-{student_id}", ["stream-teacher"], [student_id])
    headers = bearer("teacher", "stream-teacher")
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=60) as client:
        async with client.stream("GET", "/struggles/stream", headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            await Student(dapr, student_id).send(
                "exercise.quiz_graded", "python.loops", quiz_id="q", score=5
            )
            seq, data = await asyncio.wait_for(read_sse(response, student_id), 45)
        assert (data["kind"], data["severity"]) == ("low_quiz", "high")

        resume = {**headers, "Last-Event-ID": str(seq - 1)}
        async with client.stream("GET", "/struggles/stream", headers=resume) as response:
            again, data2 = await asyncio.wait_for(read_sse(response, student_id), 15)
        assert (again, data2["id"]) == (seq, data["id"])


async def test_an_alert_streams_from_every_front_end_replica(
    stack: Stack, api: httpx.AsyncClient, dapr: httpx.AsyncClient, student_id: str
) -> None:
    """A second front end replica (role api, its own daprd): an alert the actor host
    raises reaches the teacher's stream on both (each front end LISTENs to PostgreSQL)."""
    await put_class(api, f"class-{student_id}", ["replica-teacher"], [student_id])
    headers = bearer("teacher", "replica-teacher")
    with stack.extra_front_end(70, f"{stack.name}-api2") as second:
        async with (
            httpx.AsyncClient(timeout=60) as client,
            client.stream("GET", f"{stack.ports.app_url}/struggles/stream", headers=headers) as one,
            client.stream("GET", f"{second.app_url}/struggles/stream", headers=headers) as two,
        ):
            assert (one.status_code, two.status_code) == (200, 200)
            await Student(dapr, student_id).send(
                "exercise.quiz_graded", "python.loops", quiz_id="q", score=5
            )
            (_, first), (_, other) = await asyncio.wait_for(
                asyncio.gather(read_sse(one, student_id), read_sse(two, student_id)), 45
            )
    assert (first["kind"], first["id"]) == ("low_quiz", other["id"])


async def test_a_teachers_stream_carries_their_students_and_follows_roster_changes(
    ports: Ports, api: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    tag = uuid.uuid4().hex[:8]
    mine, other = f"mine-{tag}", f"other-{tag}"
    await put_class(api, f"s-{tag}", [f"st-{tag}"], [mine])
    headers = bearer("teacher", f"st-{tag}")
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=60) as client:
        async with client.stream("GET", "/struggles/stream", headers=headers) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            await seed_alert(pg, other)  # inserted first, never sent to this teacher
            await seed_alert(pg, mine)
            _, first = await asyncio.wait_for(read_sse(lines, None), 15)
            assert first["student_id"] == mine

            await put_class(api, f"s-{tag}", [f"st-{tag}"], [mine, other])
            await seed_alert(pg, other, kind="stuck")
            _, later = await asyncio.wait_for(read_sse(lines, None), 15)
            assert (later["student_id"], later["kind"]) == (other, "stuck")


async def test_class_id_narrows_the_stream_to_one_class_the_teacher_teaches(
    ports: Ports, api: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    """As the list: a teacher of two classes streams one; a class they do not teach, or
    none, is a 404 before the stream starts, for a teacher as for an admin."""
    tag = uuid.uuid4().hex[:8]
    in_a, in_b, elsewhere = f"a-{tag}", f"b-{tag}", f"e-{tag}"
    await put_class(api, f"ca-{tag}", [f"t-{tag}"], [in_a])
    await put_class(api, f"cb-{tag}", [f"t-{tag}"], [in_b])
    await put_class(api, f"ce-{tag}", [f"u-{tag}"], [elsewhere])
    teacher = bearer("teacher", f"t-{tag}")
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=60) as client:
        refused = {}
        for who, headers, class_id in (
            ("teacher", teacher, f"ce-{tag}"),
            ("teacher", teacher, f"none-{tag}"),
            ("admin", bearer("admin", "admin-1"), f"none-{tag}"),
        ):
            async with client.stream(
                "GET", "/struggles/stream", headers=headers, params={"class_id": class_id}
            ) as response:
                refused[(who, class_id)] = response.status_code
        assert set(refused.values()) == {404}, refused

        params = {"class_id": f"ca-{tag}"}
        async with client.stream(
            "GET", "/struggles/stream", headers=teacher, params=params
        ) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            await seed_alert(pg, in_b)  # the teacher's other class: not on this stream
            await seed_alert(pg, in_a)
            _, first = await asyncio.wait_for(read_sse(lines, None), 15)
            assert first["student_id"] == in_a


async def next_frame(
    lines: AsyncIterator[str], alert_id: uuid.UUID | None = None
) -> tuple[int, str, dict[str, Any]]:
    """The next frame of any kind (raised, acknowledged, resolved) about ``alert_id``
    (about any alert with None): its id, event name and data."""
    event: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if event.get("event", "").startswith("struggle"):
                data = json.loads(event["data"])
                if alert_id is None or data["id"] == str(alert_id):
                    return int(event["id"]), event["event"], data
            event = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            event[field] = value.lstrip()
    raise AssertionError("stream ended")


async def test_an_acknowledgement_and_a_resolution_appear_on_an_open_stream(
    ports: Ports, api: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    """Each frame names what happened and carries the alert as GET /struggles/{id} shows
    it; resuming after the raised frame gives the alert once, in its latest state."""
    tag = uuid.uuid4().hex[:8]
    sid = f"ack-{tag}"
    await put_class(api, f"k-{tag}", [f"t-{tag}"], [sid])
    teacher = bearer("teacher", f"t-{tag}")
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=60) as client:
        async with client.stream("GET", "/struggles/stream", headers=teacher) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            alert = await seed_alert(pg, sid)
            raised_id, event, raised = await asyncio.wait_for(next_frame(lines, alert), 15)
            assert (event, raised["change"], raised["status"]) == ("struggle", "raised", "open")

            ack = await client.post(f"/struggles/{alert}/acknowledge", headers=teacher)
            assert ack.status_code == 200
            ack_id, event, acked = await asyncio.wait_for(next_frame(lines, alert), 15)
            assert (event, acked["change"]) == ("struggle.acknowledged", "acknowledged")
            assert acked["status"] == "acknowledged"
            assert acked["acknowledged_by"] == f"t-{tag}"
            shown = (await client.get(f"/struggles/{alert}", headers=teacher)).json()
            assert {k: v for k, v in acked.items() if k != "change"} == shown

            resolve = await client.post(
                f"/struggles/{alert}/resolve", headers=teacher, json={"reason": "not_useful"}
            )
            assert resolve.status_code == 200
            done_id, event, done = await asyncio.wait_for(next_frame(lines, alert), 15)
            assert (event, done["change"], done["status"]) == (
                "struggle.resolved",
                "resolved",
                "resolved",
            )
            assert done["resolution_reason"] == "not_useful"
            assert raised_id < ack_id < done_id

        # a client that saw only the raised frame resumes: the alert once, as it is now
        resume = {**teacher, "Last-Event-ID": str(raised_id)}
        async with client.stream("GET", "/struggles/stream", headers=resume) as response:
            again_id, event, again = await asyncio.wait_for(next_frame(response.aiter_lines()), 15)
        assert (again_id, event, again["id"]) == (done_id, "struggle.resolved", str(alert))


async def test_a_stream_ticket_opens_the_stream_without_a_header(
    ports: Ports, api: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    """As an EventSource does: the ticket in the URL, no Authorization header; a ticket
    bound to a class carries that class only; a new connection resumes with
    ?last_event_id=."""
    tag = uuid.uuid4().hex[:8]
    in_a, in_b = f"ta-{tag}", f"tb-{tag}"
    await put_class(api, f"ka-{tag}", [f"t-{tag}"], [in_a])
    await put_class(api, f"kb-{tag}", [f"t-{tag}"], [in_b])
    await put_class(api, f"kc-{tag}", [f"u-{tag}"], [])
    teacher = bearer("teacher", f"t-{tag}")
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=60) as client:
        minted = await client.post("/struggles/stream/tickets", headers=teacher)
        assert minted.status_code == 200, minted.text
        body = minted.json()
        assert body["class_id"] is None
        expires = datetime.fromisoformat(body["expires_at"])
        assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=61)

        params = {"ticket": body["ticket"]}
        async with client.stream("GET", "/struggles/stream", params=params) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            first = await seed_alert(pg, in_b)
            first_id, _, data = await asyncio.wait_for(next_frame(lines), 15)
            assert (data["id"], data["student_id"]) == (str(first), in_b)

        bound = await client.post(
            "/struggles/stream/tickets", headers=teacher, json={"class_id": f"ka-{tag}"}
        )
        assert (bound.status_code, bound.json()["class_id"]) == (200, f"ka-{tag}")
        ticket = bound.json()["ticket"]
        params = {"ticket": ticket, "last_event_id": str(first_id)}
        async with client.stream("GET", "/struggles/stream", params=params) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            await seed_alert(pg, in_b, kind="stuck")  # the other class: not on this stream
            mine = await seed_alert(pg, in_a)
            _, _, data = await asyncio.wait_for(next_frame(lines), 15)
            assert data["id"] == str(mine)

        other = {"ticket": ticket, "class_id": f"kb-{tag}"}
        async with client.stream("GET", "/struggles/stream", params=other) as response:
            assert response.status_code == 403
        not_taught = await client.post(
            "/struggles/stream/tickets", headers=teacher, json={"class_id": f"kc-{tag}"}
        )
        assert not_taught.status_code == 404


def stack_ticket_signer(clock: Callable[[], float] = time.time) -> TicketSigner:
    """The signer another replica of the stack's app would build: the same settings
    (development, the stack's APP_API_TOKEN, no ticket secret) give the same key."""
    settings = Settings(APP_API_TOKEN=stack_secret("app_api_token"), stream_ticket_secret=None)
    return TicketSigner(ticket_key(settings), 60, clock=clock)


async def test_expired_forged_and_tampered_tickets_are_401(ports: Ports) -> None:
    teacher = Principal(subject="t-forger", role="teacher")
    two_minutes_ago = time.time() - 120
    expired, _ = stack_ticket_signer(lambda: two_minutes_ago).mint(teacher)
    other_key = TicketSigner(b"k" * 32, 60).mint(teacher)[0]
    valid, _ = stack_ticket_signer().mint(teacher)
    header, body, signature = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    admin_body = base64.urlsafe_b64encode(json.dumps({**claims, "role": "admin"}).encode())
    tampered = f"{header}.{admin_body.decode().rstrip('=')}.{signature}"
    bearer_token = mint("teacher", "t-forger")
    cases = {
        "expired": expired,
        "another key": other_key,
        "tampered": tampered,
        "a bearer token": bearer_token,
        "garbage": "not-a-ticket",
    }
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=30) as client:
        for case, ticket in cases.items():
            async with client.stream(
                "GET", "/struggles/stream", params={"ticket": ticket}
            ) as response:
                await response.aread()
                assert response.status_code == 401, case
                assert response.headers["content-type"].startswith(PROBLEM), case
                detail = response.json()["detail"]
                assert ticket not in detail, case
                if case == "expired":
                    assert "expired" in detail
        # minted by "another replica" (this process) with the same settings: accepted
        async with client.stream("GET", "/struggles/stream", params={"ticket": valid}) as r:
            assert r.status_code == 200


async def test_get_one_struggle_answers_as_the_list_does(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    tag = uuid.uuid4().hex[:8]
    sid = f"one-{tag}"
    await put_class(api, f"o-{tag}", [f"t-{tag}"], [sid])
    await put_class(api, f"p-{tag}", [f"u-{tag}"], [])
    alert = await seed_alert(pg, sid)
    teacher, elsewhere = bearer("teacher", f"t-{tag}"), bearer("teacher", f"u-{tag}")
    listed = (
        await anonymous.get("/struggles", headers=teacher, params={"student_id": sid})
    ).json()["items"]
    one = await anonymous.get(f"/struggles/{alert}", headers=teacher)
    assert one.status_code == 200
    assert [one.json()] == listed
    # another teacher's alert answers as one that does not exist
    missing = uuid.uuid4()
    hidden = await anonymous.get(f"/struggles/{alert}", headers=elsewhere)
    unknown = await anonymous.get(f"/struggles/{missing}", headers=elsewhere)
    assert (hidden.status_code, unknown.status_code) == (404, 404)
    assert hidden.json()["detail"] == f"no struggle alert {alert}"
    assert unknown.json()["detail"] == f"no struggle alert {missing}"
    assert (await anonymous.get("/struggles/not-a-uuid", headers=teacher)).status_code == 422


async def test_updated_since_lists_the_alerts_changed_since(
    api: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    """Raised long ago and acknowledged now: updated_since finds it, since does not;
    the alert left alone is not listed."""
    tag = uuid.uuid4().hex[:8]
    sid = f"upd-{tag}"
    long_ago = datetime.now(UTC) - timedelta(days=3)
    left_alone = await seed_alert(pg, sid, kind="stuck", detected_at=long_ago)
    acknowledged = await seed_alert(pg, sid, kind="inactivity", detected_at=long_ago)
    # the database's clock, after both inserts committed
    mark: datetime = await pg.fetchval("select now()")
    r = await api.post(f"/struggles/{acknowledged}/acknowledge")
    assert r.status_code == 200
    assert datetime.fromisoformat(r.json()["updated_at"]) >= mark

    async def ids(**params: str) -> list[str]:
        res = await api.get("/struggles", params={"student_id": sid, **params})
        assert res.status_code == 200, res.text
        return [a["id"] for a in res.json()["items"]]

    assert set(await ids()) == {str(left_alone), str(acknowledged)}
    assert await ids(updated_since=mark.isoformat()) == [str(acknowledged)]
    assert await ids(since=mark.isoformat()) == []
    bad = await api.get("/struggles", params={"updated_since": "yesterday"})
    assert bad.status_code == 422 and "updated_since" in bad.json()["detail"]


# ------------------------------------------------------------------ erasure + ops
async def test_erasure_leaves_nothing_behind(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, pg: asyncpg.Connection, student_id: str
) -> None:
    student = Student(dapr, student_id)
    await student.send("exercise.started", "python.loops", exercise_id="never")
    await student.send("exercise.quiz_graded", "python.loops", quiz_id="q", score=3)
    await applied(api, student_id, 2)
    await eventually(lambda: _has_alerts(pg, student_id))
    read_model = (
        "select (select count(*) from student_summary where student_id = $1)"
        " + (select count(*) from student_progress where student_id = $1)"
        " + (select count(*) from progress_history where student_id = $1)"
    )

    async def projected() -> bool:
        return bool(await pg.fetchval(read_model, student_id))

    await eventually(projected)

    reminders = (await api.get(f"/ops/students/{student_id}/reminders")).json()["reminders"]
    [wake] = reminders  # one wake-up serves both deadlines
    assert (wake["name"], wake["kind"], wake["pending_in_scheduler"]) == ("wake", "wake", True)
    assert {d["kind"] for d in wake["deadlines"]} == {"stuck", "inactivity"}

    r = await api.delete(f"/students/{student_id}")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["state_removed"] is True and report["alerts_removed"] >= 1
    assert set(report["reminders_removed"]) == {r["name"] for r in reminders}

    assert (await api.get(f"/progress/{student_id}")).status_code == 404
    assert await alerts(pg, student_id) == []
    assert await pg.fetchval(read_model, student_id) == 0
    rows = await pg.fetchval(
        "select count(*) from dapr_actor_state where key like $1", f"%||{student_id}||%"
    )
    assert rows == 0
    for reminder in reminders:
        got = await dapr.get(
            f"/v1.0/actors/StudentProgressActor/{student_id}/reminders/{reminder['name']}"
        )
        assert got.status_code != 200 or not got.content, got.text
    assert (await api.delete(f"/students/{student_id}")).status_code == 404


async def _has_alerts(pg: asyncpg.Connection, student_id: str) -> bool:
    return bool(await alerts(pg, student_id))


async def test_ops_actors_reports_types_and_placement(
    api: httpx.AsyncClient, seen_student: str
) -> None:
    r = await api.get("/ops/actors")
    assert r.status_code == 200, r.text
    body = r.json()
    assert {a["type"] for a in body["actor_types"]} == {
        "StudentProgressActor",
        "ClassProgressActor",
    }
    # the test instance's namespace is its app id (runtime/app.sh); others may be up too
    hosts = [h for h in body["placement_hosts"] if h["namespace"] == Ports().app_id]
    assert any("StudentProgressActor" in h["actor_types"] for h in hosts), body
    assert any("ClassProgressActor" in h["actor_types"] for h in hosts), body
    assert all(h["app_id"] == Ports().app_id for h in hosts)


async def test_progress_of_unknown_student_is_404_and_stores_nothing(
    api: httpx.AsyncClient, pg: asyncpg.Connection, student_id: str
) -> None:
    r = await api.get(f"/progress/{student_id}")
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
    rows = await pg.fetchval(
        "select count(*) from dapr_actor_state where key like $1", f"%||{student_id}||%"
    )
    assert rows == 0
    bad = await api.get("/progress/has%20space")
    assert bad.status_code == 422


async def test_oversized_request_body_is_413(api: httpx.AsyncClient) -> None:
    r = await api.post(
        f"/struggles/{uuid.uuid4()}/resolve",
        content=b"x" * 300_000,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)


def test_minted_tokens_are_hs256() -> None:
    assert jwt.get_unverified_header(mint("teacher", "t"))["alg"] == "HS256"
