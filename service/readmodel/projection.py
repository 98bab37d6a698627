"""Writes of the progress read model: the snapshots the actors' turns hand over
(actors/effects.py ``ProjectProgress``), many students per transaction.

A snapshot replaces a student's rows only if its ``version`` (events applied) is newer
than the stored one; the summary row is the guard (one conditional upsert), and the
topic and history rows are written for the students whose summary it replaced. So a
late or repeated write — an outbox performed again after a crash, two turns' snapshots
arriving out of order — never makes a student's rows older.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from service.db import driver
from service.readmodel.table import HISTORY, OVERALL, PROGRESS, SUMMARY


def latest_per_student(snapshots: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest snapshot of each student (one batch may hold several turns of one)."""
    latest: dict[str, dict[str, Any]] = {}
    for snapshot in snapshots:
        held = latest.get(snapshot["student_id"])
        if held is None or held["version"] < snapshot["version"]:
            latest[snapshot["student_id"]] = snapshot
    return latest


def _when(snapshot: dict[str, Any]) -> datetime | None:
    text = snapshot.get("last_activity")
    return datetime.fromisoformat(text) if text else None


def history_day(snapshot: dict[str, Any]) -> date:
    """The UTC day a snapshot belongs to: that of the student's newest event."""
    return _day_of(_when(snapshot))


def _day_of(when: datetime | None) -> date:
    return (when or datetime.now(UTC)).astimezone(UTC).date()


# Fixed statements with one array per column: prepared once per connection by asyncpg,
# whatever the number of rows (a multi-row VALUES statement is compiled anew for each
# batch size, which cost a fifth of the event path's CPU in the first measurement).
_SUMMARIES = """
INSERT INTO student_summary AS s
    (student_id, overall_mastery, level, streak_days, last_activity, version)
SELECT * FROM unnest($1::text[], $2::float8[], $3::text[], $4::int[], $5::timestamptz[],
                     $6::bigint[])
ON CONFLICT (student_id) DO UPDATE SET
    overall_mastery = excluded.overall_mastery, level = excluded.level,
    streak_days = excluded.streak_days, last_activity = excluded.last_activity,
    version = excluded.version, updated_at = now()
WHERE s.version < excluded.version
RETURNING student_id
"""
_TOPICS = """
INSERT INTO student_progress AS p
    (student_id, topic_id, score, level, components, passed_exercises, exercise_target,
     last_activity, version)
SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[], $5::jsonb[],
                     $6::int[], $7::int[], $8::timestamptz[], $9::bigint[])
ON CONFLICT (student_id, topic_id) DO UPDATE SET
    score = excluded.score, level = excluded.level, components = excluded.components,
    passed_exercises = excluded.passed_exercises, exercise_target = excluded.exercise_target,
    last_activity = excluded.last_activity, version = excluded.version, updated_at = now()
"""
_HISTORY = """
INSERT INTO progress_history AS h (student_id, topic_id, day, score, level, version)
SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::float8[], $5::text[],
                     $6::bigint[])
ON CONFLICT (student_id, topic_id, day) DO UPDATE SET
    score = excluded.score, level = excluded.level, version = excluded.version
WHERE h.version < excluded.version
"""


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


class ProgressProjection:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, snapshots: list[dict[str, Any]]) -> None:
        latest = latest_per_student(snapshots)
        if not latest:
            return
        ordered = [latest[sid] for sid in sorted(latest)]  # one lock order for all
        when = {s["student_id"]: _when(s) for s in ordered}  # parsed once per student
        summaries = [
            (
                s["student_id"],
                s["overall_mastery"],
                s["level"],
                s["streak_days"],
                when[s["student_id"]],
                s["version"],
            )
            for s in ordered
        ]
        async with self._engine.begin() as conn:
            pg = await driver(conn)
            newer = {r[0] for r in await pg.fetch(_SUMMARIES, *_columns(summaries, 6))}
            written = [s for s in ordered if s["student_id"] in newer]
            if not written:
                return
            topics = [
                (
                    s["student_id"],
                    t["topic_id"],
                    t["score"],
                    t["level"],
                    json.dumps(t["components"]),
                    t["passed_exercises"],
                    t["exercise_target"],
                    when[s["student_id"]],
                    s["version"],
                )
                for s in written
                for t in s["topics"]
            ]
            if topics:
                await pg.execute(_TOPICS, *_columns(topics, 9))
            history = []
            for s in written:
                day, version = _day_of(when[s["student_id"]]), s["version"]
                history.append(
                    (s["student_id"], OVERALL, day, s["overall_mastery"], s["level"], version)
                )
                history += [
                    (s["student_id"], t["topic_id"], day, t["score"], t["level"], version)
                    for t in s["topics"]
                ]
            await pg.execute(_HISTORY, *_columns(history, 6))

    async def delete_student(self, student_id: str) -> int:
        """Erasure: the student's rows in all three tables; how many summary rows went."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(PROGRESS).where(PROGRESS.c.student_id == student_id))
            await conn.execute(delete(HISTORY).where(HISTORY.c.student_id == student_id))
            result = await conn.execute(delete(SUMMARY).where(SUMMARY.c.student_id == student_id))
        return int(result.rowcount or 0)
