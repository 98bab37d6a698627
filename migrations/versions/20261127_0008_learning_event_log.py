"""The retained learning events (issue 13): every valid event the intake received, kept
for PROGRESS_EVENT_RETENTION_DAYS, for the per-exercise class view and the rule dry run
(docs/decisions/010-retained-event-log.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE learning_events (
            student_id text NOT NULL,
            event_id text NOT NULL,
            type text NOT NULL,
            occurred_at timestamptz NOT NULL,
            topic_id text,
            exercise_id text,
            data jsonb NOT NULL,
            seq bigint GENERATED ALWAYS AS IDENTITY,
            logged_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (student_id, event_id)
        )
        """
    )
    op.execute("CREATE INDEX learning_events_student_seq ON learning_events (student_id, seq)")
    op.execute("CREATE INDEX learning_events_occurred ON learning_events (occurred_at)")


def downgrade() -> None:
    op.execute("DROP TABLE learning_events")
