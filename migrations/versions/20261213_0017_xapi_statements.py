"""xAPI statements (issue 26): ``statement_producers`` (the learning tools allowed to
send statements: a Basic credential each, its secret stored as a SHA-256 digest, with
the previous secret's grace period after a rotation, and revocation) and
``xapi_statements`` (each statement id received, with the fingerprint that tells a
re-sent statement from a different one under the same id: no student id, no content).
The downgrade drops both.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-13
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE statement_producers (
            producer_id text PRIMARY KEY CHECK (producer_id ~ '^[A-Za-z0-9_.-]{1,64}$'),
            name text NOT NULL,
            secret_sha256 text NOT NULL,
            previous_secret_sha256 text,
            previous_valid_until timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            rotated_at timestamptz,
            revoked_at timestamptz
        )
        """
    )
    op.execute(
        """
        CREATE TABLE xapi_statements (
            statement_id uuid PRIMARY KEY,
            fingerprint text NOT NULL,
            producer text NOT NULL,
            outcome text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX xapi_statements_received_at ON xapi_statements (received_at)")


def downgrade() -> None:
    op.execute("DROP TABLE xapi_statements")
    op.execute("DROP TABLE statement_producers")
