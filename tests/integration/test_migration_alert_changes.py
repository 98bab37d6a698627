"""Migration 0013 (changes of alerts on the stream, issue 22) on a scratch database of
the real PostgreSQL: alerts already there get change_seq = seq and updated_at = their
last change; afterwards the trigger numbers inserts and status changes from seq's own
sequence — also for a writer that does not know the columns (the release before, during
a rolling upgrade) — and a status change is NOTIFYed; the downgrade takes it all away."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.integration.stack import REPO, Ports


@pytest.fixture
async def scratch(ports: Ports) -> AsyncIterator[str]:
    """A new database on the stack's PostgreSQL (its URL), dropped afterwards."""
    name = f"progress_migration_{uuid.uuid4().hex[:8]}"
    server = ports.database_url.rsplit("/", 1)[0]
    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{server}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def alembic(database_url: str, *args: str) -> None:
    url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    result = subprocess.run(
        [str(REPO / ".venv/bin/alembic"), *args],
        cwd=REPO,
        env={**os.environ, "PROGRESS_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# as the release before 0013 writes an alert: no change_seq, no updated_at
INSERT = (
    "INSERT INTO struggle_alerts (id, student_id, kind, topic_id, severity, detected_at, "
    "status, acknowledged_at, resolved_at, created_at) "
    "VALUES ($1, $2, $3, 't', 'low', $4, $5, $6, $7, $8) RETURNING seq"
)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def insert(
    conn: asyncpg.Connection,
    kind: str,
    status: str = "open",
    acknowledged_at: datetime | None = None,
    resolved_at: datetime | None = None,
) -> tuple[uuid.UUID, int]:
    alert_id = uuid.uuid4()
    seq = await conn.fetchval(
        INSERT, alert_id, "s-1", kind, T0, status, acknowledged_at, resolved_at, T0
    )
    return alert_id, int(seq)


async def test_0013_numbers_every_change_from_one_sequence(scratch: str) -> None:
    alembic(scratch, "upgrade", "0012")
    conn = await asyncpg.connect(scratch)
    try:
        opened, opened_seq = await insert(conn, "stuck")
        acked, acked_seq = await insert(
            conn, "low_quiz", "acknowledged", acknowledged_at=T0 + timedelta(minutes=5)
        )
        resolved, resolved_seq = await insert(
            conn,
            "inactivity",
            "resolved",
            acknowledged_at=T0 + timedelta(minutes=5),
            resolved_at=T0 + timedelta(minutes=9),
        )

        alembic(scratch, "upgrade", "0013")
        rows = {
            r["id"]: (r["change_seq"], r["updated_at"])
            for r in await conn.fetch("SELECT id, change_seq, updated_at FROM struggle_alerts")
        }
        assert rows == {
            opened: (opened_seq, T0),
            acked: (acked_seq, T0 + timedelta(minutes=5)),
            resolved: (resolved_seq, T0 + timedelta(minutes=9)),
        }

        notified: asyncio.Queue[str] = asyncio.Queue()
        listener = await asyncpg.connect(scratch)
        await listener.add_listener("struggle_alerts", lambda *args: notified.put_nowait(args[3]))
        try:
            # an insert by a writer that does not know the new columns
            late, late_seq = await insert(conn, "repeated_error")
            row = await conn.fetchrow(
                "SELECT change_seq, updated_at FROM struggle_alerts WHERE id = $1", late
            )
            assert (row["change_seq"], row["updated_at"]) == (late_seq, T0)
            assert await asyncio.wait_for(notified.get(), 10) == str(late_seq)

            # a status change: the next number of the same sequence, its time, a NOTIFY
            changed = await conn.fetchrow(
                "UPDATE struggle_alerts SET status = 'acknowledged', acknowledged_at = now() "
                "WHERE id = $1 RETURNING change_seq, updated_at, now() AS at",
                opened,
            )
            assert changed["change_seq"] > late_seq
            assert changed["updated_at"] == changed["at"]
            assert await asyncio.wait_for(notified.get(), 10) == str(changed["change_seq"])
            _, after_seq = await insert(conn, "help_request")
            assert after_seq > changed["change_seq"]  # one series: inserts come after
            assert await asyncio.wait_for(notified.get(), 10) == str(after_seq)

            # anything else that changes the row (erasure, a rename) is no change: the
            # next notification is the status change after it
            await conn.execute(
                "UPDATE struggle_alerts SET details = '{\"x\": 1}', status = status WHERE id = $1",
                opened,
            )
            same = await conn.fetchval(
                "SELECT change_seq FROM struggle_alerts WHERE id = $1", opened
            )
            assert same == changed["change_seq"]
            resolved_late = await conn.fetchval(
                "UPDATE struggle_alerts SET status = 'resolved', resolved_at = now() "
                "WHERE id = $1 RETURNING change_seq",
                late,
            )
            assert resolved_late > after_seq
            assert await asyncio.wait_for(notified.get(), 10) == str(resolved_late)
        finally:
            await listener.close()

        alembic(scratch, "downgrade", "0012")
        columns = await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'struggle_alerts' AND column_name IN ('change_seq', 'updated_at')"
        )
        assert columns == []
        await insert(conn, "repeated_error")  # the release before writes as it did
        alembic(scratch, "upgrade", "head")
    finally:
        await conn.close()
