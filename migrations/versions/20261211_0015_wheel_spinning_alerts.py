"""The ``wheel_spinning`` alert kind (issue 24): a student with many answers in a topic
whose probability of knowing it has not reached mastery (docs/rules.md). A student's
alert like the others: the kind joins the CHECK of ``struggle_alerts.kind``; the
one-unresolved index and the subject rule (a student, no class) hold as they are.
The downgrade deletes the wheel_spinning alerts, which the constraint before refuses.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-11
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the kinds before this revision (a copy: a migration does not change with the code)
KINDS = (
    "'repeated_error', 'failed_executions', 'stuck', 'low_quiz', 'help_request', "
    "'inactivity', 'class_misconception'"
)


def upgrade() -> None:
    op.execute(
        "ALTER TABLE struggle_alerts DROP CONSTRAINT struggle_alerts_kind_check, "
        f"ADD CONSTRAINT struggle_alerts_kind_check CHECK (kind IN ({KINDS}, 'wheel_spinning'))"
    )


def downgrade() -> None:
    op.execute("DELETE FROM struggle_alerts WHERE kind = 'wheel_spinning'")
    op.execute(
        "ALTER TABLE struggle_alerts DROP CONSTRAINT struggle_alerts_kind_check, "
        f"ADD CONSTRAINT struggle_alerts_kind_check CHECK (kind IN ({KINDS}))"
    )
