"""GET /rules/stats: the teachers' feedback on each rule, from the alert table. A
property test shows the figures add up with the rows they come from; an API test follows
one alert through acknowledge and resolve, in the stats and in the metrics."""

from __future__ import annotations

import asyncio
import json
import statistics
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import create_async_engine

from actors.vocabulary import ALERT_KINDS
from service.alerts.repository import AlertRepository
from service.rosters.scope import EVERYONE, Scope
from tests.integration.stack import Ports
from tests.integration.support import bearer, put_class

NOW = datetime.now(UTC).replace(microsecond=0)
SINCE = NOW - timedelta(days=30)


@dataclass(frozen=True)
class Row:
    kind: str
    detected_days_ago: int  # some before SINCE: those must not count
    acknowledged_after_min: int | None
    resolution: str | None  # addressed, not_useful


ROWS = st.builds(
    Row,
    kind=st.sampled_from(ALERT_KINDS),
    detected_days_ago=st.integers(0, 40),
    acknowledged_after_min=st.none() | st.integers(0, 3000),
    resolution=st.sampled_from([None, "addressed", "not_useful"]),
)


def expected(rows: list[Row]) -> list[dict[str, Any]]:
    """The figures computed from the rows themselves."""
    out = []
    for kind in ALERT_KINDS:
        mine = [
            r for r in rows if r.kind == kind and r.detected_days_ago <= 30
        ]  # since is inclusive
        waits = [r.acknowledged_after_min for r in mine if r.acknowledged_after_min is not None]
        addressed = sum(r.resolution == "addressed" for r in mine)
        useless = sum(r.resolution == "not_useful" for r in mine)
        out.append(
            {
                "kind": kind,
                "raised": len(mine),
                "acknowledged": len(waits),
                "resolved_addressed": addressed,
                "resolved_not_useful": useless,
                "not_useful_rate": round(useless / (addressed + useless), 3)
                if addressed + useless
                else None,
                "median_minutes_to_acknowledge": round(float(statistics.median(waits)), 1)
                if waits
                else None,
            }
        )
    return out


async def insert(pg: asyncpg.Connection, student_id: str, class_id: str, row: Row) -> None:
    """One alert of ``row``: about the student, or for a class_misconception the class
    (its own error type, so unresolved ones do not collide)."""
    about_class = row.kind == "class_misconception"
    created = NOW - timedelta(days=row.detected_days_ago)
    acked = (
        None
        if row.acknowledged_after_min is None
        else created + timedelta(minutes=row.acknowledged_after_min)
    )
    status = "resolved" if row.resolution else ("acknowledged" if acked else "open")
    await pg.execute(
        "insert into struggle_alerts (id, student_id, kind, topic_id, severity, detected_at,"
        " created_at, status, acknowledged_by, acknowledged_at, resolved_by, resolved_at,"
        " resolution_reason, class_id, details)"
        " values ($1, $2, $3, 't', 'low', $4, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        uuid.uuid4(),
        None if about_class else student_id,
        row.kind,
        created,
        status,
        "t" if acked else None,
        acked,
        "t" if row.resolution else None,
        NOW if row.resolution else None,
        row.resolution,
        class_id if about_class else None,
        json.dumps({"error_type": student_id}),
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ROWS, max_size=30))
def test_the_stats_add_up_with_the_alert_table(ports: Ports, rows: list[Row]) -> None:
    asyncio.run(_stats_match_rows(ports, rows))


async def _stats_match_rows(ports: Ports, rows: list[Row]) -> None:
    tag = uuid.uuid4().hex[:8]
    students = [f"rf-{tag}-{i}" for i in range(len(rows))]
    pg = await asyncpg.connect(ports.database_url)
    engine = create_async_engine(
        ports.database_url.replace("postgresql://", "postgresql+asyncpg://")
    )
    try:
        async with pg.transaction():
            await pg.execute("insert into classes (class_id, title) values ($1, 't')", f"rf-{tag}")
            await pg.execute(
                "insert into class_teachers (class_id, teacher_id) values ($1, $2)",
                f"rf-{tag}",
                f"rft-{tag}",
            )
            for sid, row in zip(students, rows, strict=True):
                await pg.execute(
                    "insert into class_students (class_id, student_id) values ($1, $2)",
                    f"rf-{tag}",
                    sid,
                )
                await insert(pg, sid, f"rf-{tag}", row)
        repository = AlertRepository(engine)
        want = expected(rows)
        assert await repository.feedback(EVERYONE, f"rf-{tag}", SINCE) == want
        # the class's teacher sees the same; a teacher of no class of theirs sees nothing
        assert await repository.feedback(Scope(teacher_id=f"rft-{tag}"), None, SINCE) == want
        elsewhere = await repository.feedback(Scope(teacher_id=f"nobody-{tag}"), None, SINCE)
        assert all(k["raised"] == 0 for k in elsewhere)
    finally:
        await pg.execute(
            "delete from struggle_alerts where student_id like $1 or class_id = $2",
            f"rf-{tag}-%",
            f"rf-{tag}",
        )
        await pg.execute("delete from classes where class_id = $1", f"rf-{tag}")
        await pg.close()
        await engine.dispose()


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_feedback_through_the_api_and_the_metrics(
    api: httpx.AsyncClient, pg: asyncpg.Connection, student_id: str
) -> None:
    teacher = bearer("teacher", f"t-{student_id}")
    await put_class(api, f"c-{student_id}", [f"t-{student_id}"], [student_id])
    ids = [uuid.uuid4() for _ in range(2)]
    for alert_id, kind in zip(ids, ("help_request", "low_quiz"), strict=True):
        await pg.execute(
            "insert into struggle_alerts (id, student_id, kind, topic_id, severity, detected_at)"
            " values ($1, $2, $3, 't', 'high', now())",
            alert_id,
            student_id,
            kind,
        )
    before = (await api.get("/metrics")).text
    assert (await api.post(f"/struggles/{ids[0]}/acknowledge", headers=teacher)).status_code == 200
    for alert_id, reason in zip(ids, ("addressed", "not_useful"), strict=True):
        r = await api.post(
            f"/struggles/{alert_id}/resolve", headers=teacher, json={"reason": reason}
        )
        assert r.status_code == 200
    # repeating a transition changes nothing
    assert (await api.post(f"/struggles/{ids[1]}/resolve", headers=teacher)).status_code == 200

    r = await api.get("/rules/stats", params={"class_id": f"c-{student_id}"}, headers=teacher)
    assert r.status_code == 200, r.text
    kinds = {k["kind"]: k for k in r.json()["kinds"]}
    assert set(kinds) == set(ALERT_KINDS)
    assert kinds["help_request"]["raised"] == 1 and kinds["help_request"]["acknowledged"] == 1
    assert kinds["help_request"]["resolved_addressed"] == 1
    assert kinds["help_request"]["median_minutes_to_acknowledge"] is not None
    assert kinds["low_quiz"]["resolved_not_useful"] == 1
    assert kinds["low_quiz"]["not_useful_rate"] == 1.0
    assert kinds["low_quiz"]["acknowledged"] == 0

    after = (await api.get("/metrics")).text
    counted = [
        ("progress_alerts_acknowledged_total", {"kind": "help_request"}),
        ("progress_alerts_resolved_total", {"kind": "help_request", "reason": "addressed"}),
        ("progress_alerts_resolved_total", {"kind": "low_quiz", "reason": "not_useful"}),
    ]
    for name, labels in counted:
        assert metric(after, name, **labels) - metric(before, name, **labels) == 1, name


async def test_bad_since_is_refused(api: httpx.AsyncClient) -> None:
    r = await api.get("/rules/stats", params={"since": "yesterday"})
    assert r.status_code == 422 and "since" in r.json()["detail"]
