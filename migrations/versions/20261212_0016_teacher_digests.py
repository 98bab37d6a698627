"""Teachers' digests (issue 24): ``teacher_notifications`` (each teacher's channel,
address, frequency, time zone, send hour, quiet days, on/off) and ``digest_deliveries``
(one row per teacher and period: the claim that makes one replica send it, its attempts
and backoff). The downgrade drops both.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-12
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE teacher_notifications (
            teacher_id text PRIMARY KEY,
            channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
            address text NOT NULL,
            frequency text NOT NULL CHECK (frequency IN ('daily', 'weekly')),
            weekday smallint CHECK (weekday BETWEEN 0 AND 6),
            time_zone text NOT NULL,
            send_hour smallint NOT NULL CHECK (send_hour BETWEEN 0 AND 23),
            quiet_days smallint[] NOT NULL DEFAULT '{}',
            enabled boolean NOT NULL,
            unsubscribed_at timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now(),
            CHECK ((frequency = 'weekly') = (weekday IS NOT NULL))
        )
        """
    )
    op.execute(
        """
        CREATE TABLE digest_deliveries (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            teacher_id text NOT NULL,
            period_start timestamptz NOT NULL,
            period_end timestamptz NOT NULL,
            period_kind text NOT NULL CHECK (period_kind IN ('day', 'week')),
            channel text NOT NULL CHECK (channel IN ('email', 'webhook')),
            status text NOT NULL
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'empty', 'skipped')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL,
            last_error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            UNIQUE (teacher_id, period_start)
        )
        """
    )
    op.execute(
        "CREATE INDEX digest_deliveries_due ON digest_deliveries (next_attempt_at) "
        "WHERE status IN ('pending', 'sending')"
    )


def downgrade() -> None:
    op.execute("DROP TABLE digest_deliveries")
    op.execute("DROP TABLE teacher_notifications")
