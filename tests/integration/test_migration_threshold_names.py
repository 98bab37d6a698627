"""Migration 0012 (one name per threshold, issue 21) on a scratch database of the real
PostgreSQL: the alerts and dry-run reports stored under the former names get the names
of rule sets and settings, and the downgrade gives the former names back."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from tests.integration.stack import REPO, Ports

FORMER: dict[str, dict[str, object]] = {
    "help_request": {"phrases": ["i give up"]},
    "low_quiz": {"low_below": 50.0, "high_below": 25.0},
    "failed_executions": {"consecutive_failures": 5},
    "repeated_error": {"same_error_count": 3},
    "stuck": {"minutes_without_pass": 10.0},
    "inactivity": {"inactive_days": 3.0},
    "class_misconception": {"share": 0.3, "min_students": 3, "window_hours": 24.0},
}
CURRENT: dict[str, dict[str, object]] = {
    "help_request": {"help_phrases": ["i give up"]},
    "low_quiz": {"quiz_low_below": 50.0, "quiz_high_below": 25.0},
    "failed_executions": {"consecutive_failure_count": 5},
    "repeated_error": {"repeated_error_count": 3},
    "stuck": {"stuck_minutes": 10.0},
    "inactivity": {"inactivity_days": 3.0},
    "class_misconception": {
        "misconception_share": 0.3,
        "misconception_min_students": 3,
        "misconception_window_hours": 24.0,
    },
}


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


def rule(kind: str, thresholds: dict[str, object]) -> str:
    return json.dumps({"kind": kind, "version": 0, "thresholds": thresholds})


async def stored_thresholds(conn: asyncpg.Connection) -> dict[str, object]:
    rows = await conn.fetch("SELECT kind, rule FROM struggle_alerts WHERE rule IS NOT NULL")
    return {r["kind"]: json.loads(r["rule"])["thresholds"] for r in rows}


async def listed_thresholds(conn: asyncpg.Connection) -> list[object]:
    report = json.loads(await conn.fetchval("SELECT report FROM dry_runs"))
    return [a["thresholds"] for a in report["added"] + report["removed"]]


async def test_0012_renames_the_thresholds_of_stored_alerts_and_back(scratch: str) -> None:
    alembic(scratch, "upgrade", "0011")
    now = datetime.now(UTC)
    conn = await asyncpg.connect(scratch)
    try:
        for kind, thresholds in FORMER.items():
            student, klass = ("s-1", None) if kind != "class_misconception" else (None, "c-1")
            await conn.execute(
                "INSERT INTO struggle_alerts (id, student_id, class_id, kind, topic_id, "
                "severity, detected_at, rule, evidence) "
                "VALUES ($1, $2, $3, $4, 't', 'low', $5, $6::jsonb, $7::jsonb)",
                uuid.uuid4(),
                student,
                klass,
                kind,
                now,
                rule(kind, thresholds),
                json.dumps({"event_ids": ["e-1"], "inactive_days": 3.5}),
            )
        # an alert raised before rules were recorded stays as it is
        await conn.execute(
            "INSERT INTO struggle_alerts (id, student_id, kind, topic_id, severity, "
            "detected_at) VALUES ($1, 's-2', 'stuck', 't', 'low', $2)",
            uuid.uuid4(),
            now,
        )
        listed = [{"kind": "low_quiz", "thresholds": FORMER["low_quiz"]}]
        report = {
            "students": 1,
            "added": listed + [{"kind": "stuck", "thresholds": None}],
            "removed": [{"kind": "repeated_error", "thresholds": FORMER["repeated_error"]}],
        }
        await conn.execute(
            "INSERT INTO dry_runs (id, status, requested_by, since, until, current_version, "
            "candidate, students_total, events_total, report) "
            "VALUES ($1, 'done', 'admin', $2, $2, 0, '{}'::jsonb, 1, 1, $3::jsonb)",
            uuid.uuid4(),
            now,
            json.dumps(report),
        )

        alembic(scratch, "upgrade", "0012")
        assert await stored_thresholds(conn) == CURRENT
        assert await listed_thresholds(conn) == [
            CURRENT["low_quiz"],
            None,
            CURRENT["repeated_error"],
        ]
        # facts of the evidence keep their names; only the rule's thresholds change
        evidence = await conn.fetchval(
            "SELECT evidence FROM struggle_alerts WHERE evidence IS NOT NULL LIMIT 1"
        )
        assert json.loads(evidence) == {"event_ids": ["e-1"], "inactive_days": 3.5}
        assert await conn.fetchval("SELECT count(*) FROM struggle_alerts WHERE rule IS NULL") == 1

        alembic(scratch, "downgrade", "0011")
        assert await stored_thresholds(conn) == FORMER
        assert await listed_thresholds(conn) == [
            FORMER["low_quiz"],
            None,
            FORMER["repeated_error"],
        ]
    finally:
        await conn.close()
