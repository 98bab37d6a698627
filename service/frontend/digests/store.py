"""Reads and writes of the digest tables, and the facts a digest is composed from
(rosters, read model, alerts), with asyncpg statements on the service's engine."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import driver
from service.frontend.digests.compose import AlertFact, ClassFacts, StudentFact
from service.frontend.digests.periods import Period
from service.readmodel.table import OVERALL

SETTINGS_COLUMNS = (
    "teacher_id, channel, address, frequency, weekday, time_zone, send_hour, quiet_days, "
    "enabled, unsubscribed_at, updated_at"
)
DELIVERY_COLUMNS = (
    "id, teacher_id, period_start, period_end, period_kind, channel, status, attempts, "
    "next_attempt_at, last_error, created_at, finished_at"
)

PUT_SETTINGS = f"""
INSERT INTO teacher_notifications (teacher_id, channel, address, frequency, weekday,
    time_zone, send_hour, quiet_days, enabled, unsubscribed_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, now())
ON CONFLICT (teacher_id) DO UPDATE SET channel = excluded.channel,
    address = excluded.address, frequency = excluded.frequency, weekday = excluded.weekday,
    time_zone = excluded.time_zone, send_hour = excluded.send_hour,
    quiet_days = excluded.quiet_days, enabled = excluded.enabled,
    unsubscribed_at = CASE WHEN excluded.enabled THEN NULL
                           ELSE teacher_notifications.unsubscribed_at END,
    updated_at = now()
RETURNING {SETTINGS_COLUMNS}
"""

# Due rows (pending, or sending with an expired lease: the replica sending them died),
# taken by one replica: the row locks are skipped by the others, and the lease
# (next_attempt_at moved ahead, status sending) keeps them off while it sends.
TAKE_DUE = f"""
UPDATE digest_deliveries SET status = 'sending', attempts = attempts + 1,
    next_attempt_at = $2
WHERE id IN (
    SELECT id FROM digest_deliveries
    WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1
    ORDER BY next_attempt_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
RETURNING {DELIVERY_COLUMNS}
"""

CLAIM = """
INSERT INTO digest_deliveries (teacher_id, period_start, period_end, period_kind, channel,
    status, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, 'pending', $6)
ON CONFLICT (teacher_id, period_start) DO NOTHING
RETURNING id
"""

CLASSES_SQL = """
SELECT c.class_id, c.title FROM class_teachers t JOIN classes c USING (class_id)
WHERE t.teacher_id = $1 ORDER BY c.class_id
"""
MEMBERS_SQL = "SELECT class_id, student_id FROM class_students WHERE class_id = ANY($1::text[])"
SUMMARY_SQL = """
SELECT student_id, last_activity FROM student_summary WHERE student_id = ANY($1::text[])
"""
# overall mastery at the end of the period (newest daily point on or before its last day)
# and at its start (newest point before its first day, else its first point in it)
OVERALL_SQL = """
WITH h AS (
    SELECT student_id, day, score FROM progress_history
    WHERE student_id = ANY($1::text[]) AND topic_id = $2 AND day <= $4
), at_end AS (
    SELECT DISTINCT ON (student_id) student_id, score FROM h ORDER BY student_id, day DESC
), at_start AS (
    SELECT DISTINCT ON (student_id) student_id, score FROM h
    ORDER BY student_id, (day < $3) DESC, CASE WHEN day < $3 THEN day END DESC, day ASC
)
SELECT e.student_id, e.score AS at_end, s.score AS at_start
FROM at_end e JOIN at_start s USING (student_id)
"""
ALERTS_SQL = """
SELECT id::text AS alert_id, student_id, kind, severity, topic_id, detected_at, status,
       details::text AS details
FROM struggle_alerts
WHERE student_id = ANY($1::text[]) AND detected_at < $3
  AND (detected_at >= $2 OR status IN ('open', 'acknowledged'))
"""
MISCONCEPTIONS_SQL = """
SELECT id::text AS alert_id, class_id, kind, severity, topic_id, detected_at, status,
       details::text AS details
FROM struggle_alerts
WHERE class_id = ANY($1::text[]) AND kind = 'class_misconception' AND detected_at < $3
  AND (detected_at >= $2 OR status IN ('open', 'acknowledged'))
"""


def _fact(row: Any) -> AlertFact:
    return AlertFact(
        alert_id=row["alert_id"],
        kind=row["kind"],
        severity=row["severity"],
        topic_id=row["topic_id"],
        detected_at=row["detected_at"],
        status=row["status"],
        student_id=row.get("student_id"),
        details=json.loads(row["details"] or "{}"),
    )


class DigestStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # ---------------------------------------------------------------- settings
    async def get_settings(self, teacher_id: str) -> dict[str, Any] | None:
        async with self._engine.connect() as conn:
            row = await (await driver(conn)).fetchrow(
                f"SELECT {SETTINGS_COLUMNS} FROM teacher_notifications WHERE teacher_id = $1",
                teacher_id,
            )
        return dict(row) if row else None

    async def put_settings(self, teacher_id: str, values: dict[str, Any]) -> dict[str, Any]:
        async with self._engine.begin() as conn:
            row = await (await driver(conn)).fetchrow(
                PUT_SETTINGS,
                teacher_id,
                values["channel"],
                values["address"],
                values["frequency"],
                values["weekday"],
                values["time_zone"],
                values["send_hour"],
                sorted(values["quiet_days"]),
                values["enabled"],
            )
        return dict(row)

    async def unsubscribe(self, teacher_id: str) -> bool:
        """Turn the teacher's digests off; False when they have no settings."""
        async with self._engine.begin() as conn:
            done = await (await driver(conn)).fetchval(
                "UPDATE teacher_notifications SET enabled = false, "
                "unsubscribed_at = coalesce(unsubscribed_at, now()), updated_at = now() "
                "WHERE teacher_id = $1 RETURNING true",
                teacher_id,
            )
        return bool(done)

    async def enabled_settings(self) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            rows = await (await driver(conn)).fetch(
                f"SELECT {SETTINGS_COLUMNS} FROM teacher_notifications WHERE enabled"
            )
        return [dict(r) for r in rows]

    # -------------------------------------------------------------- deliveries
    async def claim(self, teacher_id: str, period: Period, channel: str, now: datetime) -> bool:
        """The row of (teacher, period start), if no replica made it before: True for
        the one caller that inserted it."""
        async with self._engine.begin() as conn:
            found = await (await driver(conn)).fetchval(
                CLAIM, teacher_id, period.start, period.end, period.kind, channel, now
            )
        return found is not None

    async def take_due(self, now: datetime, lease: timedelta, limit: int) -> list[dict[str, Any]]:
        async with self._engine.begin() as conn:
            rows = await (await driver(conn)).fetch(TAKE_DUE, now, now + lease, limit)
        return [dict(r) for r in rows]

    async def finish(
        self, delivery_id: int, status: str, channel: str, error: str | None = None
    ) -> None:
        async with self._engine.begin() as conn:
            await (await driver(conn)).execute(
                "UPDATE digest_deliveries SET status = $2, channel = $3, last_error = $4, "
                "finished_at = now() WHERE id = $1",
                delivery_id,
                status,
                channel,
                error,
            )

    async def retry_at(self, delivery_id: int, at: datetime, channel: str, error: str) -> None:
        async with self._engine.begin() as conn:
            await (await driver(conn)).execute(
                "UPDATE digest_deliveries SET status = 'pending', next_attempt_at = $2, "
                "channel = $3, last_error = $4 WHERE id = $1",
                delivery_id,
                at,
                channel,
                error,
            )

    async def deliveries(
        self, statuses: Sequence[str], teacher_id: str | None, limit: int
    ) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """Rows by status (counts of every status) and the newest ``limit`` rows whose
        status is one of ``statuses``."""
        async with self._engine.connect() as conn:
            raw = await driver(conn)
            counts = {
                r["status"]: int(r["n"])
                for r in await raw.fetch(
                    "SELECT status, count(*) AS n FROM digest_deliveries GROUP BY status"
                )
            }
            rows = await raw.fetch(
                f"SELECT {DELIVERY_COLUMNS} FROM digest_deliveries "
                "WHERE status = ANY($1::text[]) AND ($2::text IS NULL OR teacher_id = $2) "
                "ORDER BY created_at DESC, id DESC LIMIT $3",
                list(statuses),
                teacher_id,
                limit,
            )
        return counts, [dict(r) for r in rows]

    # ------------------------------------------------------------------- facts
    async def facts(self, teacher_id: str, period: Period) -> list[ClassFacts]:
        """Per class the teacher teaches: its students with their overall mastery at the
        period's start and end and their last activity, their alerts new in the period
        or unresolved, the class's misconceptions likewise."""
        async with self._engine.connect() as conn:
            raw = await driver(conn)
            classes = [dict(r) for r in await raw.fetch(CLASSES_SQL, teacher_id)]
            ids = [c["class_id"] for c in classes]
            members: dict[str, list[str]] = {}
            for r in await raw.fetch(MEMBERS_SQL, ids):
                members.setdefault(r["class_id"], []).append(r["student_id"])
            students = sorted({s for found in members.values() for s in found})
            last = {
                r["student_id"]: r["last_activity"] for r in await raw.fetch(SUMMARY_SQL, students)
            }
            overall = {
                r["student_id"]: (r["at_start"], r["at_end"])
                for r in await raw.fetch(
                    OVERALL_SQL, students, OVERALL, period.first_day, period.last_day
                )
            }
            alerts: dict[str, list[AlertFact]] = {}
            for r in await raw.fetch(ALERTS_SQL, students, period.start, period.end):
                alerts.setdefault(r["student_id"], []).append(_fact(r))
            misconceptions: dict[str, list[AlertFact]] = {}
            for r in await raw.fetch(MISCONCEPTIONS_SQL, ids, period.start, period.end):
                misconceptions.setdefault(r["class_id"], []).append(_fact(r))
        out = []
        for c in classes:
            sids = sorted(members.get(c["class_id"], []))
            out.append(
                ClassFacts(
                    class_id=c["class_id"],
                    title=c["title"],
                    students=[
                        StudentFact(
                            student_id=s,
                            overall_mastery=overall.get(s, (None, None))[1],
                            overall_at_start=overall.get(s, (None, None))[0],
                            last_activity=last.get(s),
                        )
                        for s in sids
                    ],
                    alerts=[a for s in sids for a in alerts.get(s, [])],
                    misconceptions=misconceptions.get(c["class_id"], []),
                )
            )
        return out
