"""Changes of struggle alerts on the stream (issue 22): ``change_seq`` and ``updated_at``.

``change_seq`` orders every change of an alert (raised, acknowledged, resolved): the SSE
stream's event id and resume point from now on. It is drawn from the same sequence as
``seq`` (the identity of migration 0003), so the ids a stream sent before this migration
and the ids it sends after are one series: a client resuming with an id of either kind
misses nothing. On insert it is the row's ``seq``; when ``status`` changes, the next
value of that sequence. ``updated_at`` is when that last change was made
(``GET /struggles?updated_since=``).

A trigger sets both, whoever writes (this release, the release before it during a
rolling upgrade, SQL by hand), and a status change sends ``NOTIFY struggle_alerts`` as
an insert does. The app's writers take a transaction-level advisory lock before they
insert or change an alert (service/alerts/repository.py, ``CHANGE_LOCK``), so values are
drawn in commit order and a stream reading "after N" never passes a change that commits
later with a smaller number.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE struggle_alerts ADD COLUMN change_seq bigint")
    op.execute("ALTER TABLE struggle_alerts ADD COLUMN updated_at timestamptz")
    op.execute(
        """
        CREATE FUNCTION struggle_alerts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                NEW.change_seq := NEW.seq;
                NEW.updated_at := coalesce(NEW.created_at, now());
            ELSE
                NEW.change_seq := nextval(pg_get_serial_sequence('struggle_alerts', 'seq'));
                NEW.updated_at := now();
            END IF;
            RETURN NEW;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER struggle_alerts_changed BEFORE INSERT ON struggle_alerts "
        "FOR EACH ROW EXECUTE FUNCTION struggle_alerts_changed()"
    )
    op.execute(
        "CREATE TRIGGER struggle_alerts_status_changed BEFORE UPDATE OF status "
        "ON struggle_alerts FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) "
        "EXECUTE FUNCTION struggle_alerts_changed()"
    )
    op.execute(
        """
        CREATE FUNCTION struggle_alerts_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('struggle_alerts', NEW.change_seq::text);
            RETURN NEW;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER struggle_alerts_notify_change AFTER UPDATE OF status "
        "ON struggle_alerts FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) "
        "EXECUTE FUNCTION struggle_alerts_notify_change()"
    )
    # the alerts already there: changed last when inserted, acknowledged or resolved
    op.execute(
        "UPDATE struggle_alerts SET change_seq = seq, "
        "updated_at = greatest(created_at, acknowledged_at, resolved_at)"
    )
    op.execute("ALTER TABLE struggle_alerts ALTER COLUMN change_seq SET NOT NULL")
    op.execute("ALTER TABLE struggle_alerts ALTER COLUMN updated_at SET NOT NULL")
    op.execute("CREATE UNIQUE INDEX struggle_alerts_change_seq ON struggle_alerts (change_seq)")
    op.execute("CREATE INDEX struggle_alerts_updated_at ON struggle_alerts (updated_at)")


def downgrade() -> None:
    op.execute("DROP TRIGGER struggle_alerts_notify_change ON struggle_alerts")
    op.execute("DROP FUNCTION struggle_alerts_notify_change()")
    op.execute("DROP TRIGGER struggle_alerts_status_changed ON struggle_alerts")
    op.execute("DROP TRIGGER struggle_alerts_changed ON struggle_alerts")
    op.execute("DROP FUNCTION struggle_alerts_changed()")
    op.execute("DROP INDEX struggle_alerts_updated_at")
    op.execute("DROP INDEX struggle_alerts_change_seq")
    op.execute("ALTER TABLE struggle_alerts DROP COLUMN updated_at")
    op.execute("ALTER TABLE struggle_alerts DROP COLUMN change_seq")
