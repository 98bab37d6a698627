"""Versioned rule sets (issue 13): thresholds as data, per topic where they differ.
A version is created, dry-run, then applied by an admin; the newest applied one holds
(docs/rules.md, "Rule sets").

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE rule_sets (
            version integer PRIMARY KEY,
            rules jsonb NOT NULL,
            note text NOT NULL DEFAULT '',
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            applied_by text,
            applied_at timestamptz
        )
        """
    )
    op.execute(
        "CREATE INDEX rule_sets_applied ON rule_sets (applied_at DESC) WHERE applied_at IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP TABLE rule_sets")
