"""Knowledge tracing in the read model (issue 24): ``student_progress.mastery_probability``,
the probability that the student has learnt the topic as ``GET /progress`` shows it
(0-1, 3 decimals), for the class table. Null until the topic's first observation, and in
rows the release before wrote: its upsert does not name the column, so during an upgrade
a row it inserts has none, and a row it updates keeps the one this release wrote last.
Expand only.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-11
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE student_progress ADD COLUMN mastery_probability double precision "
        "CONSTRAINT student_progress_mastery_probability "
        "CHECK (mastery_probability BETWEEN 0 AND 1)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE student_progress DROP COLUMN mastery_probability")
