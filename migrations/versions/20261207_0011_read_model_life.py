"""The life of a student's state in the read model (issue 21, defect 5.9): the actor state
expires 30 days after its last write, and a returning student starts a new state whose
events_applied counts from 1 again. ``life`` (the event_id that began the state; null
for states begun before, or by an older release) lets a new life's snapshot replace the
old life's rows, and the index on ``updated_at`` (from now on: when the actor saved the
state the row shows) serves the hourly drop of rows whose state has expired
(service/readmodel/projection.py). Expand only: an older release's writes leave
``life`` as it is.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE student_summary ADD COLUMN life text")
    op.execute("CREATE INDEX student_summary_updated_at ON student_summary (updated_at)")


def downgrade() -> None:
    op.execute("DROP INDEX student_summary_updated_at")
    op.execute("ALTER TABLE student_summary DROP COLUMN life")
