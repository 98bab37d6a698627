"""The progress read model: a projection of every student's mastery, written from the
actor's outbox after each turn, and its daily history.

``student_summary`` holds one row per student with the ``version`` (events applied) it
was written at; a write carrying an older or equal version changes nothing, so a late or
repeated write never replaces a newer one. ``student_progress`` holds one row per student
and topic, written only with a newer summary. ``progress_history`` holds one point per
student, topic and UTC day (the day of the student's newest event) on which the topic
changed: the day's last score and level; topic ``*`` is the student's overall mastery.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVEL = "CHECK (level IN ('Beginner', 'Learning', 'Proficient', 'Mastered'))"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE student_summary (
            student_id text PRIMARY KEY,
            overall_mastery double precision NOT NULL,
            level text NOT NULL {LEVEL},
            streak_days integer NOT NULL,
            last_activity timestamptz,
            version bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE student_progress (
            student_id text NOT NULL,
            topic_id text NOT NULL,
            score double precision NOT NULL,
            level text NOT NULL {LEVEL},
            components jsonb NOT NULL,
            passed_exercises integer NOT NULL,
            exercise_target integer NOT NULL,
            last_activity timestamptz,
            version bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (student_id, topic_id)
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE progress_history (
            student_id text NOT NULL,
            topic_id text NOT NULL,
            day date NOT NULL,
            score double precision NOT NULL,
            level text NOT NULL {LEVEL},
            version bigint NOT NULL,
            PRIMARY KEY (student_id, topic_id, day)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE progress_history")
    op.execute("DROP TABLE student_progress")
    op.execute("DROP TABLE student_summary")
