"""Why each alert fired: the rule (kind, rule set version, thresholds) and the evidence
(triggering events and the facts of its kind), as JSON objects. Null on alerts raised
before this revision (docs/rules.md, "Evidence").

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE struggle_alerts ADD COLUMN rule jsonb, ADD COLUMN evidence jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE struggle_alerts DROP COLUMN evidence, DROP COLUMN rule")
