"""A school at the scale issue 12 sets: 100,000 students in 2,500 classes of 40 (class
``sc-<n>`` taught by ``st-<n>``, students ``ss-<n>``), their read model (3 topics each),
1,000,000 history rows and 1,000,000 alerts (one unresolved for every tenth student).
Inserted by SQL on the database, for the query plan test and the benchmark."""

from __future__ import annotations

import asyncpg

STUDENTS = 100_000
CLASS_SIZE = 40
CLASSES = STUDENTS // CLASS_SIZE

_LEVEL = (
    "case when {s} <= 40 then 'Beginner' when {s} <= 70 then 'Learning' "
    "when {s} <= 90 then 'Proficient' else 'Mastered' end"
)

STATEMENTS = [
    f"insert into classes (class_id, title) select 'sc-' || c, 'class ' || c "
    f"from generate_series(0, {CLASSES - 1}) c",
    f"insert into class_teachers (class_id, teacher_id) select 'sc-' || c, 'st-' || c "
    f"from generate_series(0, {CLASSES - 1}) c",
    f"insert into class_students (class_id, student_id) "
    f"select 'sc-' || (i / {CLASS_SIZE}), 'ss-' || i from generate_series(0, {STUDENTS - 1}) i",
    "insert into student_summary "
    "(student_id, overall_mastery, level, streak_days, last_activity, version) "
    f"select 'ss-' || i, (i * 37) % 100, {_LEVEL.format(s='(i * 37) % 100')}, 1, "
    f"now() - ((i % 10) || ' days')::interval, 10 from generate_series(0, {STUDENTS - 1}) i",
    "insert into student_progress (student_id, topic_id, score, level, components, "
    "passed_exercises, exercise_target, last_activity, version) "
    f"select 'ss-' || i, 'topic-' || t, (i * 7 + t * 13) % 100, "
    f"{_LEVEL.format(s='(i * 7 + t * 13) % 100')}, '{{}}', 0, 5, now(), 10 "
    f"from generate_series(0, {STUDENTS - 1}) i, generate_series(0, 2) t",
    # 100,000 students x (overall + 1 topic) x 5 days = 1,000,000 rows
    "insert into progress_history (student_id, topic_id, day, score, level, version) "
    "select 'ss-' || i, case when t = 0 then '*' else 'topic-' || (i % 3) end, "
    "(now() at time zone 'UTC')::date - d, (i + d * 3 + t) % 100, 'Learning', 10 - d "
    f"from generate_series(0, {STUDENTS - 1}) i, generate_series(0, 1) t, "
    "generate_series(0, 4) d",
    # 1,000,000 alerts, ten per student; the first of every tenth student unresolved
    # change_seq and updated_at are set here: populate() skips the triggers that set them
    # (migration 0013); the numbers only need to be distinct and after every real one
    "insert into struggle_alerts (id, student_id, kind, topic_id, severity, detected_at, "
    "status, change_seq, updated_at) "
    f"select gen_random_uuid(), 'ss-' || (i % {STUDENTS}), "
    "(array['repeated_error','failed_executions','stuck','low_quiz','help_request',"
    f"'inactivity'])[1 + (i / {STUDENTS}) % 6], 'topic-' || (i % 3), "
    "(array['low','medium','high'])[1 + i % 3], now() - (i || ' seconds')::interval, "
    f"case when i / {STUDENTS} = 0 and i % 10 = 0 then 'open' else 'resolved' end, "
    "1000000000 + i, now() - (i || ' seconds')::interval "
    f"from generate_series(0, {10 * STUDENTS - 1}) i",
]

TABLES = (
    "classes",
    "class_teachers",
    "class_students",
    "student_summary",
    "student_progress",
    "progress_history",
    "struggle_alerts",
)


async def populate(conn: asyncpg.Connection) -> None:
    """Insert the school (no NOTIFY per alert: the trigger is skipped), then ANALYZE."""
    await conn.execute("set local session_replication_role = replica")
    for statement in STATEMENTS:
        await conn.execute(statement)
    for table in TABLES:
        await conn.execute(f"analyze {table}")


async def remove(conn: asyncpg.Connection) -> None:
    """Delete what :func:`populate` inserted (its ids all start with sc-/st-/ss-)."""
    await conn.execute("delete from classes where class_id like 'sc-%'")  # memberships cascade
    for table in ("student_summary", "student_progress", "progress_history", "struggle_alerts"):
        await conn.execute(f"delete from {table} where student_id like 'ss-%'")
