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

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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
    when = _when(snapshot)
    return (when or datetime.now(UTC)).astimezone(UTC).date()


class ProgressProjection:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, snapshots: list[dict[str, Any]]) -> None:
        latest = latest_per_student(snapshots)
        if not latest:
            return
        async with self._engine.begin() as conn:
            newer = await _summaries(conn, latest.values())
            written = [latest[student_id] for student_id in sorted(newer)]
            if written:
                await _topics(conn, written)
                await _history(conn, written)

    async def delete_student(self, student_id: str) -> int:
        """Erasure: the student's rows in all three tables; how many summary rows went."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(PROGRESS).where(PROGRESS.c.student_id == student_id))
            await conn.execute(delete(HISTORY).where(HISTORY.c.student_id == student_id))
            result = await conn.execute(delete(SUMMARY).where(SUMMARY.c.student_id == student_id))
        return int(result.rowcount or 0)


async def _summaries(conn: AsyncConnection, snapshots: Iterable[dict[str, Any]]) -> set[str]:
    """Upsert the summaries; the students whose row this wrote (newer version)."""
    rows = [
        {
            "student_id": s["student_id"],
            "overall_mastery": s["overall_mastery"],
            "level": s["level"],
            "streak_days": s["streak_days"],
            "last_activity": _when(s),
            "version": s["version"],
        }
        for s in sorted(snapshots, key=lambda s: str(s["student_id"]))
    ]
    insert = pg_insert(SUMMARY).values(rows)
    upsert = insert.on_conflict_do_update(
        index_elements=[SUMMARY.c.student_id],
        set_={
            "overall_mastery": insert.excluded.overall_mastery,
            "level": insert.excluded.level,
            "streak_days": insert.excluded.streak_days,
            "last_activity": insert.excluded.last_activity,
            "version": insert.excluded.version,
            "updated_at": func.now(),
        },
        where=SUMMARY.c.version < insert.excluded.version,
    ).returning(SUMMARY.c.student_id)
    return {row.student_id for row in await conn.execute(upsert)}


async def _topics(conn: AsyncConnection, snapshots: list[dict[str, Any]]) -> None:
    rows = [
        {
            "student_id": s["student_id"],
            "topic_id": t["topic_id"],
            "score": t["score"],
            "level": t["level"],
            "components": json.loads(json.dumps(t["components"])),
            "passed_exercises": t["passed_exercises"],
            "exercise_target": t["exercise_target"],
            "last_activity": _when(s),
            "version": s["version"],
        }
        for s in snapshots
        for t in s["topics"]
    ]
    if not rows:
        return
    insert = pg_insert(PROGRESS).values(rows)
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=[PROGRESS.c.student_id, PROGRESS.c.topic_id],
            set_={
                **{c: insert.excluded[c] for c in ("score", "level", "components")},
                **{c: insert.excluded[c] for c in ("passed_exercises", "exercise_target")},
                "last_activity": insert.excluded.last_activity,
                "version": insert.excluded.version,
                "updated_at": func.now(),
            },
        )
    )


async def _history(conn: AsyncConnection, snapshots: list[dict[str, Any]]) -> None:
    rows = []
    for s in snapshots:
        day = history_day(s)
        common = {"student_id": s["student_id"], "day": day, "version": s["version"]}
        rows.append(
            {**common, "topic_id": OVERALL, "score": s["overall_mastery"], "level": s["level"]}
        )
        rows += [
            {**common, "topic_id": t["topic_id"], "score": t["score"], "level": t["level"]}
            for t in s["topics"]
        ]
    insert = pg_insert(HISTORY).values(rows)
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=[HISTORY.c.student_id, HISTORY.c.topic_id, HISTORY.c.day],
            set_={
                "score": insert.excluded.score,
                "level": insert.excluded.level,
                "version": insert.excluded.version,
            },
            where=HISTORY.c.version < insert.excluded.version,
        )
    )
