"""Insertion sequence and NOTIFY for struggle alerts.

``seq`` orders alerts by insertion: the SSE stream uses it as event id and resumes
after ``Last-Event-ID``. A trigger sends ``NOTIFY struggle_alerts, '<seq>'`` on every
insert, so every replica's stream clients see every alert, whichever replica wrote it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE struggle_alerts ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY")
    op.execute("CREATE UNIQUE INDEX struggle_alerts_seq ON struggle_alerts (seq)")
    op.execute(
        "CREATE INDEX struggle_alerts_kind ON struggle_alerts (kind, detected_at DESC, id DESC)"
    )
    op.execute(
        """
        CREATE FUNCTION struggle_alerts_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('struggle_alerts', NEW.seq::text);
            RETURN NEW;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER struggle_alerts_notify AFTER INSERT ON struggle_alerts "
        "FOR EACH ROW EXECUTE FUNCTION struggle_alerts_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER struggle_alerts_notify ON struggle_alerts")
    op.execute("DROP FUNCTION struggle_alerts_notify()")
    op.execute("DROP INDEX struggle_alerts_kind")
    op.execute("ALTER TABLE struggle_alerts DROP COLUMN seq")
