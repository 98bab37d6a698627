"""The progress read model on the real database: events reach the teachers' class views,
an older snapshot never replaces a newer one, a new life of a student's state replaces
the old one's rows, the rows of expired states are dropped, and the heatmap adds up
with the rows."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.db import create_read_pool, create_write_pool
from service.readmodel.projection import ProgressProjection
from service.readmodel.views import ClassViews
from service.rosters.apply import Roster
from service.rosters.repository import RosterRepository
from service.rosters.scope import EVERYONE
from service.settings import Settings
from tests.integration.stack import Ports
from tests.integration.support import Student, applied, bearer, eventually, put_class

LEVELS = ("Beginner", "Learning", "Proficient", "Mastered")


def engine_for(ports: Ports) -> AsyncEngine:
    return create_async_engine(ports.database_url.replace("postgresql://", "postgresql+asyncpg://"))


async def read_pool_for(ports: Ports) -> asyncpg.Pool:
    """The views' pool as the app builds it (service.db.create_read_pool); the
    projection's writes take the same kind of pool (create_write_pool)."""
    url = ports.database_url.replace("postgresql://", "postgresql+asyncpg://")
    return await create_read_pool(Settings(database_url=url), size=2)


def level(score: float) -> str:
    return LEVELS[min(3, int(score // 25.01))]


def snapshot(
    student_id: str,
    version: int,
    scores: dict[str, float],
    life: str | None = None,
    saved_at: datetime | None = None,
    last_activity: datetime | None = None,
) -> dict[str, Any]:
    """A snapshot as actors/progress_view.py makes it; without ``life`` and ``saved_at``
    as a state begun before they were recorded."""
    overall = round(sum(scores.values()) / len(scores), 1) if scores else 0.0
    shot = {
        "student_id": student_id,
        "version": version,
        "overall_mastery": overall,
        "level": level(overall),
        "streak_days": 1,
        "last_activity": (last_activity or datetime.now(UTC)).isoformat(),
        "topics": [
            {
                "topic_id": t,
                "score": s,
                "level": level(s),
                "components": {},
                "passed_exercises": 0,
                "exercise_target": 5,
            }
            for t, s in scores.items()
        ],
    }
    if life is not None:
        shot["life"] = life
    if saved_at is not None:
        shot["saved_at"] = saved_at.isoformat()
    return shot


async def test_published_events_reach_the_class_views(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, dapr: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:8]
    weak, strong = f"weak-{tag}", f"strong-{tag}"
    await put_class(api, f"rm-{tag}", [f"t-{tag}"], [weak, strong])
    await Student(dapr, weak).send("exercise.quiz_graded", quiz_id="q1", score=10)
    await Student(dapr, strong).send("exercise.quiz_graded", quiz_id="q1", score=95)
    for sid in (weak, strong):
        await applied(api, sid, 1)
    teacher = bearer("teacher", f"t-{tag}")

    async def table() -> list[dict[str, Any]] | None:
        r = await anonymous.get(f"/classes/rm-{tag}/students", headers=teacher)
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()["items"]
        ready = all(row["overall_mastery"] is not None for row in rows)
        return rows if ready and rows[0]["open_alerts"]["high"] else None

    rows = await eventually(table)
    assert [row["student_id"] for row in rows] == [weak, strong]  # sort=risk
    assert "1 open high alert" in rows[0]["why_flagged"]
    assert {
        "code": "open_high_alerts",
        "params": {"count": 1},
        "text": "1 open high alert",
    } in rows[0]["why_flagged_codes"]
    assert [r["text"] for r in rows[0]["why_flagged_codes"]] == rows[0]["why_flagged"]
    assert rows[1]["topics"]["python.loops"] > rows[0]["topics"]["python.loops"]

    by_mastery = await anonymous.get(
        f"/classes/rm-{tag}/students", headers=teacher, params={"sort": "mastery", "limit": 1}
    )
    page = by_mastery.json()
    assert [row["student_id"] for row in page["items"]] == [weak] and page["next_cursor"]
    rest = await anonymous.get(
        f"/classes/rm-{tag}/students",
        headers=teacher,
        params={"sort": "mastery", "cursor": page["next_cursor"]},
    )
    assert [row["student_id"] for row in rest.json()["items"]] == [strong]
    wrong_sort = await anonymous.get(
        f"/classes/rm-{tag}/students", headers=teacher, params={"cursor": page["next_cursor"]}
    )
    assert wrong_sort.status_code == 400

    heat = await anonymous.get(f"/classes/rm-{tag}/topics", headers=teacher)
    [loops] = heat.json()["topics"]
    assert (loops["topic_id"], loops["students"], loops["students_with_open_alerts"]) == (
        "python.loops",
        2,
        1,
    )

    history = await anonymous.get(f"/progress/{weak}/history", headers=teacher)
    assert history.status_code == 200, history.text
    points = {(p["topic_id"], p["day"]) for p in history.json()["points"]}
    today = datetime.now(UTC).date().isoformat()
    assert ("*", today) in points and ("python.loops", today) in points
    elsewhere = bearer("teacher", f"other-{tag}")
    for path in (f"/classes/rm-{tag}/students", f"/classes/rm-{tag}/topics"):
        assert (await anonymous.get(path, headers=elsewhere)).status_code == 404
    assert (await anonymous.get(f"/progress/{weak}/history", headers=elsewhere)).status_code == 404


async def test_an_older_snapshot_never_replaces_a_newer_one(ports: Ports) -> None:
    engine = engine_for(ports)
    pool = await read_pool_for(ports)
    projection, views = ProgressProjection(pool), ClassViews(pool)
    sid = f"ooo-{uuid.uuid4().hex[:8]}"
    try:
        await projection.write([snapshot(sid, 5, {"a": 80.0})])
        await projection.write([snapshot(sid, 3, {"a": 10.0})])  # late
        await projection.write([snapshot(sid, 5, {"a": 10.0})])  # repeated version
        # one batch holding both, the older last
        await projection.write([snapshot(sid, 7, {"a": 90.0}), snapshot(sid, 6, {"a": 20.0})])
        day = datetime.now(UTC).date()
        history = await views.history(EVERYONE, sid, "a", day, day)
        assert history is not None
        assert [(p["score"], p["level"]) for p in history] == [(90.0, "Mastered")]
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "select s.version, s.overall_mastery, p.score from student_summary s"
                        " join student_progress p using (student_id) where student_id = :s"
                    ),
                    {"s": sid},
                )
            ).one()
        assert tuple(row) == (7, 90.0, 90.0)
    finally:
        await projection.delete_student(sid)
        await engine.dispose()
        await pool.close()


async def stored(
    pool: asyncpg.Pool, sid: str
) -> tuple[dict[str, Any] | None, dict[str, float], set[tuple[str, str]]]:
    """A student's rows: the summary, the score per topic, the (topic, day) of each
    history point."""
    async with pool.acquire() as conn:
        summary = await conn.fetchrow(
            "select version, life, overall_mastery, updated_at from student_summary"
            " where student_id = $1",
            sid,
        )
        topics = await conn.fetch(
            "select topic_id, score from student_progress where student_id = $1", sid
        )
        history = await conn.fetch(
            "select topic_id, day from progress_history where student_id = $1", sid
        )
    return (
        dict(summary) if summary else None,
        {r["topic_id"]: r["score"] for r in topics},
        {(r["topic_id"], r["day"].isoformat()) for r in history},
    )


async def test_a_new_life_replaces_the_old_lifes_rows_and_a_late_old_one_does_not(
    ports: Ports,
) -> None:
    """The state expired after 40 events (issue 21, defect 5.9); the student came back: the
    new life's first snapshot (version 1) replaces the old life's rows, topics and days
    the new one has not reached included; a late snapshot of the old life changes
    nothing; the new life goes on by version."""
    engine, pool = engine_for(ports), await read_pool_for(ports)
    projection = ProgressProjection(pool)
    sid = f"life-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    old_saved = now - timedelta(days=31)
    try:
        for version, days_ago in ((38, 33), (39, 32), (40, 31)):  # three days of history
            await projection.write(
                [
                    snapshot(
                        sid,
                        version,
                        {"a": 80.0, "b": 60.0},
                        life="e-old",
                        saved_at=now - timedelta(days=days_ago),
                        last_activity=now - timedelta(days=days_ago),
                    )
                ]
            )
        summary, topics, history = await stored(pool, sid)
        assert summary is not None and (summary["version"], summary["life"]) == (40, "e-old")
        assert summary["updated_at"] == old_saved  # the state's save, not the write's time
        assert topics == {"a": 80.0, "b": 60.0} and len(history) == 9

        await projection.write([snapshot(sid, 1, {"c": 20.0}, "e-new", now, now)])
        summary, topics, history = await stored(pool, sid)
        assert summary is not None
        assert (summary["version"], summary["life"], summary["overall_mastery"]) == (
            1,
            "e-new",
            20.0,
        )
        assert topics == {"c": 20.0}
        today = now.date().isoformat()
        assert history == {("*", today), ("c", today)}

        # a late snapshot of the old life, even of a higher version: nothing changes
        late = snapshot(sid, 41, {"a": 95.0}, life="e-old", saved_at=old_saved)
        await projection.write([late])
        assert await stored(pool, sid) == (summary, topics, history)
        # nor in one batch with the new life's next snapshot, in either order
        await projection.write([snapshot(sid, 2, {"c": 30.0}, "e-new", now, now), late])
        summary, topics, history = await stored(pool, sid)
        assert summary is not None and (summary["version"], summary["life"]) == (2, "e-new")
        assert topics == {"c": 30.0} and history == {("*", today), ("c", today)}
        await projection.write([snapshot(sid, 1, {"c": 5.0}, life="e-new", saved_at=now)])
        assert (await stored(pool, sid))[1] == {"c": 30.0}  # older version of the same life
    finally:
        await projection.delete_student(sid)
        await engine.dispose()
        await pool.close()


async def test_a_state_begun_before_lives_were_recorded(ports: Ports) -> None:
    """Rows written without a life (before migration 0011, or by an older release): a
    snapshot without a life is of the row's life, whatever the row holds, and never
    wipes topics or history; the first snapshot with a life after such rows is a new
    life (a state gets a life only when it begins)."""
    engine, pool = engine_for(ports), await read_pool_for(ports)
    projection = ProgressProjection(pool)
    legacy, known = (f"legacy-{uuid.uuid4().hex[:8]}" for _ in range(2))
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    try:
        # a row of a life, then snapshots of a state without one (an older release's
        # state, or its snapshot in a rollback): only the version decides, nothing goes
        await projection.write(
            [snapshot(known, 5, {"a": 50.0, "b": 40.0}, "e-1", yesterday, yesterday)]
        )
        await projection.write([snapshot(known, 6, {"a": 70.0}, saved_at=now)])
        summary, topics, history = await stored(pool, known)
        assert summary is not None and (summary["version"], summary["life"]) == (6, "e-1")
        assert topics == {"a": 70.0, "b": 40.0}
        assert {t for t, _ in history} == {"*", "a", "b"} and len(history) == 5
        await projection.write([snapshot(known, 3, {"a": 1.0})])  # older: ignored
        assert (await stored(pool, known))[1] == {"a": 70.0, "b": 40.0}

        # a row without a life keeps its history under snapshots without one...
        await projection.write([snapshot(legacy, 9, {"a": 50.0}, last_activity=yesterday)])
        await projection.write([snapshot(legacy, 10, {"b": 60.0})])
        summary, topics, history = await stored(pool, legacy)
        assert summary is not None and (summary["version"], summary["life"]) == (10, None)
        assert topics == {"a": 50.0, "b": 60.0} and len(history) == 4
        # ...and a state begun since (it has a life) replaces it, whatever the versions
        later = datetime.now(UTC)  # saved after the rows' write (the database's clock)
        await projection.write([snapshot(legacy, 1, {"c": 10.0}, "e-9", later, later)])
        summary, topics, history = await stored(pool, legacy)
        assert summary is not None and (summary["version"], summary["life"]) == (1, "e-9")
        assert topics == {"c": 10.0}
        assert history == {("*", later.date().isoformat()), ("c", later.date().isoformat())}
    finally:
        for sid in (legacy, known):
            await projection.delete_student(sid)
        await engine.dispose()
        await pool.close()


async def test_a_write_outlives_its_pooled_connection_being_closed_by_the_server(
    ports: Ports,
) -> None:
    """The write pool has no pre-ping (service/db.py): a connection the server closed
    since it was pooled (a restart, a failover) fails on its next use, and the write is
    made once more on a fresh connection instead of failing the actors' turns; a view
    reads again likewise instead of answering 500."""
    url = ports.database_url.replace("postgresql://", "postgresql+asyncpg://")
    writes = await create_write_pool(Settings(database_url=url), size=1)
    reader = await create_read_pool(Settings(database_url=url), size=1)
    projection = ProgressProjection(writes)
    sid = f"lost-{uuid.uuid4().hex[:8]}"
    try:
        await projection.write([snapshot(sid, 1, {"a": 40.0})])
        # written at once, the server's goodbye is still unread on the connection
        # (asyncpg: InternalClientError); written later, asyncpg has seen the close
        # (ConnectionDoesNotExistError) or the pool replaces the connection itself
        for version, pause in ((2, 0.0), (3, 0.5)):
            async with writes.acquire() as conn:  # the pool's one connection
                backend = conn.get_server_pid()
            async with reader.acquire() as admin:
                assert await admin.fetchval("select pg_terminate_backend($1)", backend)
            await asyncio.sleep(pause)
            await projection.write([snapshot(sid, version, {"a": 50.0 + version})])
            summary, topics, _ = await stored(reader, sid)
            assert summary is not None and summary["version"] == version
            assert topics == {"a": 50.0 + version}
            async with writes.acquire() as conn:
                assert conn.get_server_pid() != backend
        # the views' pool alike: its connection closed by the server, a view reads again
        async with reader.acquire() as conn:
            viewer = conn.get_server_pid()
        async with writes.acquire() as admin:
            assert await admin.fetchval("select pg_terminate_backend($1)", viewer)
        day = datetime.now(UTC).date()
        history = await ClassViews(reader).history(EVERYONE, sid, "a", day, day)
        assert history is not None and [p["score"] for p in history] == [53.0]
    finally:
        await projection.delete_student(sid)
        await writes.close()
        await reader.close()


async def test_the_rows_of_expired_states_are_dropped_and_fresh_ones_kept(
    ports: Ports,
) -> None:
    """``drop_expired``: a row whose state was last saved longer ago than the state's TTL
    goes with its topics and history; a row saved since stays, and a reminder's turn
    (same version, saved later) keeps a row from expiring. In batches."""
    engine, pool = engine_for(ports), await read_pool_for(ports)
    projection = ProgressProjection(pool)
    tag = uuid.uuid4().hex[:8]
    expired = [f"exp-{tag}-{i}" for i in range(3)]
    fresh, refreshed = f"fresh-{tag}", f"refreshed-{tag}"
    ttl = timedelta(days=5)
    now = datetime.now(UTC)
    long_ago = now - ttl - timedelta(hours=1)
    try:
        for sid in expired:
            await projection.write([snapshot(sid, 3, {"a": 50.0}, f"e-{sid}", long_ago)])
        await projection.write(
            [snapshot(fresh, 3, {"a": 50.0}, "e-f", now - ttl + timedelta(hours=1))]
        )
        await projection.write([snapshot(refreshed, 3, {"a": 50.0}, "e-r", long_ago)])
        # its reminder turn: the state saved again, no new event; then a late repeat of
        # the older save does not move the row's time back
        await projection.write([snapshot(refreshed, 3, {}, "e-r", now)])
        await projection.write([snapshot(refreshed, 3, {}, "e-r", long_ago)])
        summary, _, _ = await stored(pool, refreshed)
        assert summary is not None and summary["updated_at"] == now

        dropped = await projection.drop_expired(ttl.total_seconds(), batch=2)
        assert dropped >= len(expired)  # others' rows this old may go too
        for sid in expired:
            assert await stored(pool, sid) == (None, {}, set())
        for sid in (fresh, refreshed):
            summary, topics, history = await stored(pool, sid)
            assert summary is not None and topics == {"a": 50.0} and len(history) == 2
    finally:
        for sid in (*expired, fresh, refreshed):
            await projection.delete_student(sid)
        await engine.dispose()
        await pool.close()


SCORES = st.dictionaries(
    st.sampled_from(["t1", "t2", "t3"]),
    st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda x: round(x, 1)),
    max_size=3,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(students=st.lists(SCORES, min_size=1, max_size=12))
def test_heatmap_counts_equal_the_per_student_rows(
    ports: Ports, students: list[dict[str, float]]
) -> None:
    asyncio.run(_heatmap_matches_rows(ports, students))


async def _heatmap_matches_rows(ports: Ports, students: list[dict[str, float]]) -> None:
    engine = engine_for(ports)
    pool = await read_pool_for(ports)
    projection, views, rosters = (
        ProgressProjection(pool),
        ClassViews(pool),
        RosterRepository(engine),
    )
    tag = uuid.uuid4().hex[:8]
    ids = [f"hm-{tag}-{i}" for i in range(len(students))]
    try:
        await projection.write([snapshot(sid, 1, s) for sid, s in zip(ids, students, strict=True)])
        await rosters.put(
            Roster(f"hm-{tag}", "heatmap", frozenset(), frozenset(ids), datetime.now(UTC))
        )
        page = await views.students(EVERYONE, f"hm-{tag}", "student_id", None, 200)
        topics = await views.topics(EVERYONE, f"hm-{tag}")
        assert page is not None and topics is not None
        rows, more = page
        cells = {c["topic_id"]: c for c in topics}
        assert more is None and len(rows) == len(ids)
        expected_topics = {t for r in rows for t in r.topics}
        assert set(cells) == expected_topics
        for topic, cell in cells.items():
            scores = sorted(r.topics[topic] for r in rows if topic in r.topics)
            assert cell["students"] == len(scores)
            for name in LEVELS:
                assert cell[name.lower()] == sum(1 for s in scores if level(s) == name)
            assert abs(cell["mean_score"] - sum(scores) / len(scores)) <= 0.051
            assert min(scores) <= cell["median_score"] <= max(scores)
            assert cell["students_with_open_alerts"] == 0
    finally:
        await rosters.delete(f"hm-{tag}")
        for sid in ids:
            await projection.delete_student(sid)
        await engine.dispose()
        await pool.close()


# ---------------------------------------------------------------- class table pages
# A student's risk as the test sets it: open high alerts, and hours since the last event.
RISKS = st.tuples(st.integers(0, 2), st.integers(1, 4))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.lists(RISKS, min_size=2, max_size=9),
    limit=st.integers(1, 3),
    changes=st.lists(st.lists(st.tuples(st.integers(0, 8), RISKS), max_size=3), max_size=9),
)
def test_risk_pages_neither_repeat_nor_skip_a_student_whose_risk_held(
    ports: Ports,
    start: list[tuple[int, int]],
    limit: int,
    changes: list[list[tuple[int, tuple[int, int]]]],
) -> None:
    """Keyset pages (docs/api.md): between pages some students' risk changes (alerts
    raised or resolved, a newer event); every student whose sort values held appears
    exactly once. An offset cursor fails this as soon as a student moves across the
    page boundary."""
    asyncio.run(_pages_hold_under_changes(ports, start, limit, changes))


async def _pages_hold_under_changes(
    ports: Ports,
    start: list[tuple[int, int]],
    limit: int,
    changes: list[list[tuple[int, tuple[int, int]]]],
) -> None:
    engine, pool = engine_for(ports), await read_pool_for(ports)
    projection, views, rosters = (
        ProgressProjection(pool),
        ClassViews(pool),
        RosterRepository(engine),
    )
    tag = uuid.uuid4().hex[:8]
    ids = [f"pg-{tag}-{i}" for i in range(len(start))]
    now = datetime.now(UTC).replace(microsecond=0)
    versions = dict.fromkeys(ids, 0)

    async def set_risk(student: str, risk: tuple[int, int]) -> None:
        high, hours = risk
        versions[student] += 1
        shot = snapshot(student, versions[student], {"t1": 50.0})
        shot["last_activity"] = (now - timedelta(hours=hours)).isoformat()
        await projection.write([shot])
        async with pool.acquire() as conn:
            await conn.execute("delete from struggle_alerts where student_id = $1", student)
            for n in range(high):
                await conn.execute(
                    "insert into struggle_alerts (id, student_id, kind, topic_id, severity,"
                    " detected_at) values ($1, $2, 'low_quiz', $3, 'high', now())",
                    uuid.uuid4(),
                    student,
                    f"t{n}",
                )

    try:
        await rosters.put(Roster(f"pg-{tag}", "pages", frozenset(), frozenset(ids), now))
        risk = dict(zip(ids, start, strict=True))
        for sid in ids:
            await set_risk(sid, risk[sid])
        held = set(ids)  # students whose sort values never changed
        seen: list[str] = []
        after = None
        # a change may show its student once more (moved from before the cursor to after
        # it), so the pages hold at most every student plus one row per change
        for turn in range(len(ids) + sum(map(len, changes)) + 1):
            page = await views.students(EVERYONE, f"pg-{tag}", "risk", after, limit)
            assert page is not None
            rows, after = page
            seen += [r.student_id for r in rows]
            if after is None:
                break
            for index, new_risk in changes[turn] if turn < len(changes) else []:
                student = ids[index % len(ids)]
                if new_risk != risk[student]:
                    held.discard(student)
                    risk[student] = new_risk
                await set_risk(student, new_risk)  # a newer snapshot either way
        assert after is None, "more pages than students and changes"
        for student in held:
            assert seen.count(student) == 1, (student, seen)
    finally:
        await rosters.delete(f"pg-{tag}")
        async with pool.acquire() as conn:
            await conn.execute("delete from struggle_alerts where student_id = any($1)", ids)
        for sid in ids:
            await projection.delete_student(sid)
        await engine.dispose()
        await pool.close()
