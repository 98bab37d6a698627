"""Reads of the progress read model for teachers: a class's students sorted by risk, the
class x topic heatmap, a student's daily history. Each is one or two statements over the
roster, read model and alert tables, on their primary keys and indexes.

Risk (``sort=risk``), most at risk first: more open (or acknowledged) high alerts, then
more medium ones, then the steeper fall of overall mastery over the last 7 days, then
the longer time since the last activity (never active counts as longest), then the
student id. Each row says why it is flagged (:func:`flag_reasons`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import asyncpg

from actors.config import DomainConfig
from service.db import idempotent
from service.readmodel.table import OVERALL
from service.rosters.scope import ReachCheck, Scope, class_reach, student_reach

Sort = Literal["risk", "mastery", "last_active", "student_id"]
# inactivity is flagged after the inactivity rule's threshold (docs/rules.md)
DEFAULT_INACTIVE_AFTER = DomainConfig().inactivity_after


@dataclass(frozen=True)
class SortKey:
    """One column of a sort, as an ascending expression that is never NULL: ``template``
    turns a value (the column, or a cursor's parameter) into it, so a sort is one row
    comparison — ``(keys) > (the last row's keys)`` is the page after that row."""

    column: str
    sql_type: str
    template: str

    def of(self, value: str) -> str:
        return self.template.format(value)


_STUDENT = SortKey("student_id", "text", "{}")
# NULLS FIRST as -infinity, NULLS LAST as +infinity: no real value is infinite
SORT_KEYS: dict[Sort, tuple[SortKey, ...]] = {
    "risk": (
        SortKey("high", "bigint", "-{}"),
        SortKey("medium", "bigint", "-{}"),
        SortKey("change_7d", "float8", "coalesce({}, 'Infinity'::float8)"),
        SortKey("last_activity", "timestamptz", "coalesce({}, '-infinity'::timestamptz)"),
        _STUDENT,
    ),
    "mastery": (
        SortKey("overall_mastery", "float8", "coalesce({}, '-Infinity'::float8)"),
        _STUDENT,
    ),
    "last_active": (
        SortKey("last_activity", "timestamptz", "coalesce({}, '-infinity'::timestamptz)"),
        _STUDENT,
    ),
    "student_id": (_STUDENT,),
}
FIRST_CURSOR_PARAM = 5  # $1..$4: class, overall topic, the day 7 days ago, limit


def students_sql(sort: Sort, after: bool) -> str:
    """The class table's statement in ``sort`` order; with ``after``, only the rows after
    the position given as parameters $5.. (one per key of the sort, raw values)."""
    keys = SORT_KEYS[sort]
    row = ", ".join(k.of(k.column) for k in keys)
    where = ""
    if after:
        given = ", ".join(
            k.of(f"${FIRST_CURSOR_PARAM + i}::{k.sql_type}") for i, k in enumerate(keys)
        )
        where = f"WHERE ({row}) > ({given})"
    return STUDENTS_SQL.format(where=where, order=row)


# Members of the class, their summary, unresolved alerts by severity, and the change of
# overall mastery against the newest daily point at least 7 days old (or, for students
# newer than that, their first point).
STUDENTS_SQL = """
WITH members AS (
    SELECT student_id FROM class_students WHERE class_id = $1
), open_alerts AS (
    SELECT a.student_id,
           count(*) FILTER (WHERE a.severity = 'high') AS high,
           count(*) FILTER (WHERE a.severity = 'medium') AS medium,
           count(*) FILTER (WHERE a.severity = 'low') AS low
    FROM struggle_alerts a JOIN members m USING (student_id)
    WHERE a.status IN ('open', 'acknowledged')
    GROUP BY a.student_id
), baseline AS (
    SELECT DISTINCT ON (h.student_id) h.student_id, h.score
    FROM progress_history h JOIN members m USING (student_id)
    WHERE h.topic_id = $2
    ORDER BY h.student_id, (h.day <= $3) DESC,
             CASE WHEN h.day <= $3 THEN h.day END DESC, h.day ASC
), rows AS (
    SELECT m.student_id, s.overall_mastery, s.level, s.last_activity,
           coalesce(a.high, 0) AS high, coalesce(a.medium, 0) AS medium,
           coalesce(a.low, 0) AS low,
           round((s.overall_mastery - b.score)::numeric, 1)::float AS change_7d
    FROM members m
    LEFT JOIN student_summary s USING (student_id)
    LEFT JOIN open_alerts a USING (student_id)
    LEFT JOIN baseline b USING (student_id)
)
SELECT * FROM rows {where} ORDER BY {order} LIMIT $4
"""

TOPICS_SQL = """
WITH members AS (
    SELECT student_id FROM class_students WHERE class_id = $1
), alerted AS (
    SELECT a.topic_id, count(DISTINCT a.student_id) AS students
    FROM struggle_alerts a JOIN members m USING (student_id)
    WHERE a.status IN ('open', 'acknowledged') AND a.topic_id IS NOT NULL
    GROUP BY a.topic_id
)
SELECT p.topic_id,
       count(*) AS students,
       count(*) FILTER (WHERE p.level = 'Beginner') AS beginner,
       count(*) FILTER (WHERE p.level = 'Learning') AS learning,
       count(*) FILTER (WHERE p.level = 'Proficient') AS proficient,
       count(*) FILTER (WHERE p.level = 'Mastered') AS mastered,
       round(avg(p.score)::numeric, 1)::float AS mean_score,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY p.score))::numeric, 1)::float
           AS median_score,
       coalesce(max(al.students), 0) AS students_with_open_alerts
FROM student_progress p
JOIN members m USING (student_id)
LEFT JOIN alerted al ON al.topic_id = p.topic_id
GROUP BY p.topic_id
ORDER BY p.topic_id
"""

TOPIC_SCORES_SQL = """
SELECT student_id, topic_id, score, mastery_probability FROM student_progress
WHERE student_id = ANY($1::text[])
"""

# Per exercise, from the retained events of the class's students (service/eventlog):
# attempts and passes, students who started / attempted / passed, the median time from
# a student's first start to their first pass, and the three most frequent error types
# of failed runs naming the exercise.
EXERCISES_SQL = """
WITH members AS (
    SELECT student_id FROM class_students WHERE class_id = $1
), ev AS (
    SELECT e.student_id, e.exercise_id, e.topic_id, e.type, e.occurred_at,
           (e.data->>'passed')::boolean AS passed, e.data->>'error_type' AS error_type
    FROM learning_events e JOIN members m USING (student_id)
    WHERE e.exercise_id IS NOT NULL
), per_student AS (
    SELECT exercise_id, student_id,
           min(occurred_at) FILTER (WHERE type = 'exercise.started') AS started,
           min(occurred_at) FILTER (WHERE type = 'exercise.submitted' AND passed) AS passed_at,
           count(*) FILTER (WHERE type = 'exercise.submitted') AS attempts,
           count(*) FILTER (WHERE type = 'exercise.submitted' AND passed) AS passes
    FROM ev GROUP BY exercise_id, student_id
), errors AS (
    SELECT exercise_id, error_type, count(*) AS n,
           row_number() OVER (PARTITION BY exercise_id ORDER BY count(*) DESC, error_type)
               AS rank
    FROM ev WHERE type = 'code.executed' AND error_type IS NOT NULL
    GROUP BY exercise_id, error_type
), topics AS (
    SELECT DISTINCT ON (exercise_id) exercise_id, topic_id FROM ev
    ORDER BY exercise_id, occurred_at DESC
)
SELECT p.exercise_id, t.topic_id,
       sum(p.attempts)::int AS attempts, sum(p.passes)::int AS passing_attempts,
       count(*) FILTER (WHERE p.started IS NOT NULL) AS students_started,
       count(*) FILTER (WHERE p.attempts > 0) AS students_attempted,
       count(*) FILTER (WHERE p.passed_at IS NOT NULL) AS students_passed,
       round((percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM p.passed_at - p.started) / 60)
           FILTER (WHERE p.passed_at >= p.started))::numeric, 1)::float
           AS median_minutes_to_first_pass,
       coalesce((SELECT json_agg(json_build_object('error_type', er.error_type, 'count', er.n)
                                 ORDER BY er.rank)
                 FROM errors er WHERE er.exercise_id = p.exercise_id AND er.rank <= 3),
                '[]'::json)::text AS top_errors
FROM per_student p JOIN topics t USING (exercise_id)
GROUP BY p.exercise_id, t.topic_id
ORDER BY p.exercise_id
"""

HISTORY_SQL = """
SELECT topic_id, day, score, level FROM progress_history
WHERE student_id = $1 AND day BETWEEN $2 AND $3
  AND ($4::text IS NULL OR topic_id = $4)
ORDER BY topic_id, day
"""


@dataclass(frozen=True)
class FlagReason:
    """One reason a student is flagged: ``code`` and ``params`` for a front end to say it
    in its own words and language, ``text`` the service's English sentence (docs/api.md,
    'Why a student is flagged')."""

    code: str
    params: dict[str, int | float]
    text: str


@dataclass(frozen=True)
class StudentRow:
    student_id: str
    overall_mastery: float | None
    level: str | None
    topics: dict[str, float]
    mastery_probability: dict[str, float | None]
    open_alerts: dict[str, int]
    last_activity: datetime | None
    mastery_change_7d: float | None
    why_flagged: list[str]
    why_flagged_codes: list[FlagReason]


FLAG_CODES = ("open_high_alerts", "open_medium_alerts", "mastery_fell", "inactive", "never_active")
"""Every code :func:`flag_reasons` gives, in the order risk weighs them."""


def flag_reasons(
    row: dict[str, Any], now: datetime, inactive_after: timedelta = DEFAULT_INACTIVE_AFTER
) -> list[FlagReason]:
    """The reasons a student stands where risk puts them, in the order risk weighs them."""
    reasons = []
    for severity in ("high", "medium"):
        n = int(row[severity])
        if n:
            text = f"{n} open {severity} alert{'s' if n > 1 else ''}"
            reasons.append(FlagReason(f"open_{severity}_alerts", {"count": n}, text))
    change = row["change_7d"]
    if change is not None and change < 0:
        points = -change
        text = f"mastery fell {points:g} points in 7 days"
        reasons.append(FlagReason("mastery_fell", {"points": points, "days": 7}, text))
    last = row["last_activity"]
    if last is None:
        reasons.append(FlagReason("never_active", {}, "no activity yet"))
    elif now - last >= inactive_after:
        days = (now - last).days
        reasons.append(FlagReason("inactive", {"days": days}, f"no activity for {days} days"))
    return reasons


def why_flagged(
    row: dict[str, Any], now: datetime, inactive_after: timedelta = DEFAULT_INACTIVE_AFTER
) -> list[str]:
    """The reasons' English sentences (the ``why_flagged`` clients have read from the
    start; ``why_flagged_codes`` carries the same reasons with codes)."""
    return [reason.text for reason in flag_reasons(row, now, inactive_after)]


async def _reaches(conn: asyncpg.Connection, check: ReachCheck) -> bool:
    if isinstance(check, bool):
        return check
    sql, args = check
    return bool(await conn.fetchval(sql, *args))


class ClassViews:
    """The views, on a pool of plain asyncpg connections (see :func:`create_read_pool`):
    each request's reach check and reads on one connection, a round trip per statement.
    ``None`` from a view: out of the caller's reach (or no such class)."""

    def __init__(
        self, pool: asyncpg.Pool, inactive_after: timedelta = DEFAULT_INACTIVE_AFTER
    ) -> None:
        self._pool = pool
        self._inactive_after = inactive_after

    async def students(
        self,
        scope: Scope,
        class_id: str,
        sort: Sort,
        after: tuple[Any, ...] | None,
        limit: int,
        today: date | None = None,
    ) -> tuple[list[StudentRow], tuple[Any, ...] | None] | None:
        """A page of the class's students in ``sort`` order, after the position ``after``
        (the sort's key values of the previous page's last row, :data:`SORT_KEYS`); and
        the position of this page's last row when more follow (else None)."""
        now = datetime.now(UTC)
        day = today or now.date()
        week_ago = date.fromordinal(day.toordinal() - 7)

        async def read(
            conn: asyncpg.Connection,
        ) -> tuple[list[dict[str, Any]], list[Any]] | None:
            if not await _reaches(conn, class_reach(scope, class_id)):
                return None
            found = await conn.fetch(
                students_sql(sort, after is not None),
                class_id,
                OVERALL,
                week_ago,
                limit + 1,
                *(after or ()),
            )
            rows = [dict(r) for r in found]
            ids = [r["student_id"] for r in rows[:limit]]
            return rows, (await conn.fetch(TOPIC_SCORES_SQL, ids) if ids else [])

        got = await idempotent(self._pool, read)
        if got is None:
            return None
        rows, topic_scores = got
        more = len(rows) > limit
        rows = rows[:limit]
        position = tuple(rows[-1][k.column] for k in SORT_KEYS[sort]) if more else None
        scores: dict[str, dict[str, float]] = {}
        probabilities: dict[str, dict[str, float | None]] = {}
        for sid, topic_id, score, p in topic_scores:
            scores.setdefault(sid, {})[topic_id] = score
            probabilities.setdefault(sid, {})[topic_id] = p
        page = []
        for r in rows:
            reasons = flag_reasons(r, now, self._inactive_after)
            page.append(
                StudentRow(
                    student_id=r["student_id"],
                    overall_mastery=r["overall_mastery"],
                    level=r["level"],
                    topics=dict(sorted(scores.get(r["student_id"], {}).items())),
                    mastery_probability=dict(
                        sorted(probabilities.get(r["student_id"], {}).items())
                    ),
                    open_alerts={s: int(r[s]) for s in ("high", "medium", "low")},
                    last_activity=r["last_activity"],
                    mastery_change_7d=r["change_7d"],
                    why_flagged=[reason.text for reason in reasons],
                    why_flagged_codes=reasons,
                )
            )
        return page, position

    async def topics(self, scope: Scope, class_id: str) -> list[dict[str, Any]] | None:
        """Per topic the class's students have progress in: students at each level, mean
        and median score, students with an unresolved alert in the topic."""

        async def read(conn: asyncpg.Connection) -> list[dict[str, Any]] | None:
            if not await _reaches(conn, class_reach(scope, class_id)):
                return None
            return [dict(r) for r in await conn.fetch(TOPICS_SQL, class_id)]

        return await idempotent(self._pool, read)

    async def exercises(self, scope: Scope, class_id: str) -> list[dict[str, Any]] | None:
        """Per exercise the class's students have events of (retained events only)."""

        async def read(conn: asyncpg.Connection) -> list[dict[str, Any]] | None:
            if not await _reaches(conn, class_reach(scope, class_id)):
                return None
            return [dict(r) for r in await conn.fetch(EXERCISES_SQL, class_id)]

        rows = await idempotent(self._pool, read)
        if rows is None:
            return None
        for row in rows:
            attempts = row["attempts"]
            row["pass_rate"] = round(row["passing_attempts"] / attempts, 3) if attempts else None
            row["top_errors"] = json.loads(row["top_errors"])
        return rows

    async def history(
        self, scope: Scope, student_id: str, topic_id: str | None, since: date, until: date
    ) -> list[dict[str, Any]] | None:

        async def read(conn: asyncpg.Connection) -> list[dict[str, Any]] | None:
            if not await _reaches(conn, student_reach(scope, student_id)):
                return None
            found = await conn.fetch(HISTORY_SQL, student_id, since, until, topic_id)
            return [dict(r) for r in found]

        return await idempotent(self._pool, read)
