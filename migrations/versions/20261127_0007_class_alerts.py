"""Alerts about a class (``class_misconception``, issue 13): ``class_id`` set and
``student_id`` null. One unresolved class alert per (class, topic, error type); the
one-unresolved rule of student alerts now covers student alerts only (with NULLS NOT
DISTINCT, every class alert of a kind and topic would otherwise collide).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "'repeated_error', 'failed_executions', 'stuck', 'low_quiz', 'help_request', 'inactivity'"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE struggle_alerts ADD COLUMN class_id text, "
        "ALTER COLUMN student_id DROP NOT NULL, "
        "DROP CONSTRAINT struggle_alerts_kind_check, "
        f"ADD CONSTRAINT struggle_alerts_kind_check CHECK (kind IN ({KINDS}, "
        "'class_misconception')), "
        "ADD CONSTRAINT struggle_alerts_subject CHECK ("
        "(kind = 'class_misconception' AND class_id IS NOT NULL AND student_id IS NULL) OR "
        "(kind <> 'class_misconception' AND student_id IS NOT NULL AND class_id IS NULL))"
    )
    op.execute("DROP INDEX struggle_alerts_one_unresolved")
    op.execute(
        "CREATE UNIQUE INDEX struggle_alerts_one_unresolved ON struggle_alerts "
        "(student_id, kind, topic_id) NULLS NOT DISTINCT "
        "WHERE status IN ('open', 'acknowledged') AND student_id IS NOT NULL"
    )
    op.execute(
        "CREATE UNIQUE INDEX struggle_alerts_one_unresolved_class ON struggle_alerts "
        "(class_id, topic_id, (details->>'error_type')) NULLS NOT DISTINCT "
        "WHERE status IN ('open', 'acknowledged') AND class_id IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX struggle_alerts_class ON struggle_alerts "
        "(class_id, detected_at DESC, id DESC) WHERE class_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DELETE FROM struggle_alerts WHERE class_id IS NOT NULL")
    op.execute("DROP INDEX struggle_alerts_class")
    op.execute("DROP INDEX struggle_alerts_one_unresolved_class")
    op.execute("DROP INDEX struggle_alerts_one_unresolved")
    op.execute(
        "CREATE UNIQUE INDEX struggle_alerts_one_unresolved ON struggle_alerts "
        "(student_id, kind, topic_id) NULLS NOT DISTINCT "
        "WHERE status IN ('open', 'acknowledged')"
    )
    op.execute(
        "ALTER TABLE struggle_alerts DROP CONSTRAINT struggle_alerts_subject, "
        "DROP CONSTRAINT struggle_alerts_kind_check, "
        f"ADD CONSTRAINT struggle_alerts_kind_check CHECK (kind IN ({KINDS})), "
        "ALTER COLUMN student_id SET NOT NULL, DROP COLUMN class_id"
    )
