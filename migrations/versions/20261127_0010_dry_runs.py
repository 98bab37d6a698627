"""Background dry runs of rule sets (issue 13): a dry run over more retained events than
one request answers runs in the replica that accepted it; its progress and report are
kept here so any replica answers a poll. At most one runs at a time (decision 011).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE dry_runs (
            id uuid PRIMARY KEY,
            status text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
            requested_by text NOT NULL,
            requested_at timestamptz NOT NULL DEFAULT now(),
            class_id text,
            since timestamptz NOT NULL,
            until timestamptz NOT NULL,
            current_version integer NOT NULL,
            candidate_version integer,
            candidate jsonb NOT NULL,
            students_total integer NOT NULL,
            events_total integer NOT NULL,
            students_done integer NOT NULL DEFAULT 0,
            events_done integer NOT NULL DEFAULT 0,
            heartbeat_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            report jsonb,
            error text
        )
        """
    )
    # one running dry run at a time, across replicas
    op.execute(
        "CREATE UNIQUE INDEX dry_runs_one_running ON dry_runs ((true)) WHERE status = 'running'"
    )
    op.execute("CREATE INDEX dry_runs_requested ON dry_runs (requested_at DESC)")


def downgrade() -> None:
    op.execute("DROP TABLE dry_runs")
