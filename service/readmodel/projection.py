"""Writes of the progress read model: the snapshots the actors' turns hand over
(actors/effects.py ``ProjectProgress``), many students per transaction.

The summary row is the guard (one conditional upsert): the topic and history rows are
written for the students whose summary the snapshot replaced.

**Within one life** of the student's state a snapshot replaces the rows only if its
``version`` (events applied) is not older than the stored one: a late write — an outbox
performed again after a crash, two turns' snapshots arriving out of order — never makes
a student's rows older, and a reminder's turn (same version) refreshes them.

**A life** is one actor state from its first event to its expiry
(``PROGRESS_ACTOR_STATE_TTL_S`` after its last write; actors/state.py ``life``, the
event_id of its first event). A student who returns after the state expired starts from
nothing and counts events from 1 again. A snapshot of another life than the row's
replaces the rows whatever their version if it was saved later than the row's state
(``updated_at``), and the old life's topic and history rows go with it; a late snapshot
of the old life changes nothing. A snapshot without a life (a state begun before lives
were recorded, or by an older release) is taken as of the row's life: it never wipes
anything, and only the version decides.

``updated_at`` of a summary row is when the actor saved the state the row shows
(actors/state.py ``saved_at``; the write's time for a snapshot without it), never moved
back. Every save writes a snapshot (event and reminder turns alike), so a row whose
``updated_at`` is older than the state's TTL is the row of an expired state:
:meth:`ProgressProjection.drop_expired` drops it with its topics and history, and the
class views agree with ``GET /progress`` (404) that the student has no progress.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import structlog

from service.db import idempotent
from service.readmodel.table import OVERALL

log = structlog.get_logger("read_model")


def _saved_at(snapshot: dict[str, Any]) -> datetime | None:
    text = snapshot.get("saved_at")
    return datetime.fromisoformat(text) if text else None


def supersedes(new: dict[str, Any], held: dict[str, Any]) -> bool:
    """Whether snapshot ``new`` replaces ``held`` of the same student: the rule of the
    summary upsert (``_SUMMARIES``). Of the same life (or ``new`` of none known), the
    version decides, a tie going to ``new``; of another life, the later save."""
    life = new.get("life")
    if life is None or life == held.get("life"):
        return bool(held["version"] <= new["version"])
    new_saved, held_saved = _saved_at(new), _saved_at(held)
    if new_saved is None or held_saved is None:
        return True  # a missing time is the write's own: the newest
    return held_saved < new_saved


def latest_per_student(snapshots: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest snapshot of each student (one batch may hold several turns of one), by
    :func:`supersedes`."""
    latest: dict[str, dict[str, Any]] = {}
    for snapshot in snapshots:
        held = latest.get(snapshot["student_id"])
        if held is None or supersedes(snapshot, held):
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
WITH incoming AS (
    SELECT * FROM unnest($1::text[], $2::float8[], $3::text[], $4::int[], $5::timestamptz[],
                         $6::bigint[], $7::text[], $8::timestamptz[])
        AS i(student_id, overall_mastery, level, streak_days, last_activity, version, life,
             saved_at)
), prior AS (
    SELECT s.student_id, s.life FROM student_summary s JOIN incoming USING (student_id)
), written AS (
    INSERT INTO student_summary AS s
        (student_id, overall_mastery, level, streak_days, last_activity, version, life,
         updated_at)
    SELECT student_id, overall_mastery, level, streak_days, last_activity, version, life,
           coalesce(saved_at, now())
    FROM incoming
    ON CONFLICT (student_id) DO UPDATE SET
        overall_mastery = excluded.overall_mastery, level = excluded.level,
        streak_days = excluded.streak_days, last_activity = excluded.last_activity,
        version = excluded.version, life = coalesce(excluded.life, s.life),
        updated_at = greatest(s.updated_at, excluded.updated_at)
    WHERE CASE WHEN excluded.life IS NULL OR excluded.life IS NOT DISTINCT FROM s.life
               THEN s.version <= excluded.version
               ELSE s.updated_at < excluded.updated_at END
    RETURNING student_id
)
SELECT w.student_id,
       p.student_id IS NOT NULL AND i.life IS NOT NULL AND p.life IS DISTINCT FROM i.life
           AS new_life
FROM written w JOIN incoming i USING (student_id) LEFT JOIN prior p USING (student_id)
"""
# ``prior`` reads the rows as they were before the statement. A concurrent write of the
# same student (two activations during a placement move) is of the same life: lives are
# a state's TTL apart, so a stale ``prior`` cannot tell a wrong life.
# The old life's topics and days, before the new life's are written.
_FORGET_LIFE = """
WITH p AS (DELETE FROM student_progress WHERE student_id = ANY($1::text[]))
DELETE FROM progress_history WHERE student_id = ANY($1::text[])
"""
# Rows of states that expired: not saved for longer than the state lives (every save
# writes a snapshot, reminder turns included). In batches; the outer condition again,
# so a row a new snapshot refreshed meanwhile stays (re-checked on the row's new version).
_DROP_EXPIRED = """
WITH gone AS (
    DELETE FROM student_summary WHERE student_id IN (
        SELECT student_id FROM student_summary
        WHERE updated_at < now() - make_interval(secs => $1)
        ORDER BY updated_at LIMIT $2
    ) AND updated_at < now() - make_interval(secs => $1)
    RETURNING student_id
), p AS (
    DELETE FROM student_progress WHERE student_id IN (SELECT student_id FROM gone)
), h AS (
    DELETE FROM progress_history WHERE student_id IN (SELECT student_id FROM gone)
)
SELECT count(*) FROM gone
"""
DROP_BATCH = 5000
_TOPICS = """
INSERT INTO student_progress AS p
    (student_id, topic_id, score, level, components, passed_exercises, exercise_target,
     last_activity, version, mastery_probability)
SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[], $5::jsonb[],
                     $6::int[], $7::int[], $8::timestamptz[], $9::bigint[], $10::float8[])
ON CONFLICT (student_id, topic_id) DO UPDATE SET
    score = excluded.score, level = excluded.level, components = excluded.components,
    passed_exercises = excluded.passed_exercises, exercise_target = excluded.exercise_target,
    last_activity = excluded.last_activity, version = excluded.version,
    mastery_probability = excluded.mastery_probability, updated_at = now()
"""
_DELETE_TOPICS = "DELETE FROM student_progress WHERE student_id = $1"
_DELETE_HISTORY = "DELETE FROM progress_history WHERE student_id = $1"
_DELETE_SUMMARY = "DELETE FROM student_summary WHERE student_id = $1"

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
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool  # plain asyncpg (service/db.py create_write_pool)

    async def write(self, snapshots: list[dict[str, Any]]) -> None:
        latest = latest_per_student(snapshots)
        if not latest:
            return
        ordered = [latest[sid] for sid in sorted(latest)]  # one lock order for all
        when = {s["student_id"]: _when(s) for s in ordered}  # parsed once per student

        async def rows(pg: asyncpg.Connection) -> None:
            async with pg.transaction():
                await _write_rows(pg, ordered, when)

        # written twice, the versions and lives make the second change nothing
        await idempotent(self._pool, rows)

    async def drop_expired(self, state_ttl_s: float, batch: int = DROP_BATCH) -> int:
        """Drop the rows of every student whose actor state has expired (not saved for
        ``state_ttl_s``: ``updated_at``), topics and history included; how many
        students. In batches of ``batch`` students, a transaction each."""
        dropped = 0
        while True:
            async with self._pool.acquire() as pg:
                count = int(await pg.fetchval(_DROP_EXPIRED, float(state_ttl_s), batch))
            dropped += count
            if count < batch:
                return dropped

    async def drop_expired_once(self, state_ttl_s: float) -> None:
        """:meth:`drop_expired`, logged; the database away: the next period tries again."""
        try:
            dropped = await self.drop_expired(state_ttl_s)
        except Exception as exc:  # logged; the next period tries again
            log.warning("read_model_drop_expired_failed", error=repr(exc))
            return
        if dropped:
            log.info("read_model_expired_dropped", students=dropped)

    async def delete_student(self, student_id: str) -> int:
        """Erasure: the student's rows in all three tables; how many summary rows went."""
        async with self._pool.acquire() as pg, pg.transaction():
            await pg.execute(_DELETE_TOPICS, student_id)
            await pg.execute(_DELETE_HISTORY, student_id)
            status = await pg.execute(_DELETE_SUMMARY, student_id)
        return int(status.split()[-1])


async def _write_rows(
    pg: asyncpg.Connection,
    ordered: list[dict[str, Any]],
    when: dict[str, datetime | None],
) -> None:
    """The summary rows (the guard), then the topic and history rows of the students
    whose summary the snapshot replaced; in the caller's transaction."""
    summaries = [
        (
            s["student_id"],
            s["overall_mastery"],
            s["level"],
            s["streak_days"],
            when[s["student_id"]],
            s["version"],
            s.get("life"),
            _saved_at(s),
        )
        for s in ordered
    ]
    replaced = await pg.fetch(_SUMMARIES, *_columns(summaries, 8))
    newer = {r["student_id"] for r in replaced}
    written = [s for s in ordered if s["student_id"] in newer]
    if not written:
        return
    new_lives = [r["student_id"] for r in replaced if r["new_life"]]
    if new_lives:
        await pg.execute(_FORGET_LIFE, new_lives)
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
            t.get("mastery_probability"),
        )
        for s in written
        for t in s["topics"]
    ]
    if topics:
        await pg.execute(_TOPICS, *_columns(topics, 10))
    history = []
    for s in written:
        day, version = _day_of(when[s["student_id"]]), s["version"]
        history.append((s["student_id"], OVERALL, day, s["overall_mastery"], s["level"], version))
        history += [
            (s["student_id"], t["topic_id"], day, t["score"], t["level"], version)
            for t in s["topics"]
        ]
    await pg.execute(_HISTORY, *_columns(history, 6))
