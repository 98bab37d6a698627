"""struggle_alerts: one row per raised struggle alert.

At most one unresolved (open or acknowledged) alert per (student, kind, topic) is
enforced by a partial unique index, NULLS NOT DISTINCT so topic-less alerts
(inactivity, help requests without a topic) are covered too (PostgreSQL 15+).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE struggle_alerts (
            id uuid PRIMARY KEY,
            student_id text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('repeated_error', 'failed_executions', 'stuck',
                                               'low_quiz', 'help_request', 'inactivity')),
            topic_id text,
            severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
            details jsonb NOT NULL DEFAULT '{}'::jsonb,
            detected_at timestamptz NOT NULL,
            status text NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'acknowledged', 'resolved')),
            trigger_event_id text,
            acknowledged_by text,
            acknowledged_at timestamptz,
            resolved_by text,
            resolved_at timestamptz,
            resolution_reason text CHECK (resolution_reason IN ('addressed', 'not_useful')),
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE UNIQUE INDEX struggle_alerts_one_unresolved
            ON struggle_alerts (student_id, kind, topic_id) NULLS NOT DISTINCT
            WHERE status IN ('open', 'acknowledged')
        """
    )
    op.execute("CREATE INDEX struggle_alerts_newest ON struggle_alerts (detected_at DESC, id DESC)")
    op.execute(
        "CREATE INDEX struggle_alerts_student ON struggle_alerts "
        "(student_id, detected_at DESC, id DESC)"
    )
    op.execute(
        "CREATE INDEX struggle_alerts_status ON struggle_alerts (status, detected_at DESC, id DESC)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE struggle_alerts")
