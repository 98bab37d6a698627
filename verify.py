#!/usr/bin/env python3
"""Check a running Progress Service deployment end to end; exit non-zero on any failure.

    python verify.py --url http://127.0.0.1:8000 --dapr-url http://127.0.0.1:3500 \
        --token "$ADMIN_JWT" --dapr-token "$DAPR_API_TOKEN" --database-url "$DB_URL"

Every option can come from the environment instead: VERIFY_URL, VERIFY_DAPR_URL,
VERIFY_TOKEN (an admin JWT), VERIFY_DAPR_TOKEN, VERIFY_DATABASE_URL, VERIFY_HOST_URL.
Checks, one line each:

1. GET /health answers 200 and every dependency (dapr, kafka, postgres) is up — on the
   front end (--url), and with --host-url also on the actor host, when the roles run
   apart (the end-to-end event below crosses both);
2. PostgreSQL is reachable and migrated to the newest Alembic revision in migrations/
   (a revision newer than this code knows, as after a rollback, is a WARN, not a FAIL);
3. a uniquely identified synthetic event published through Dapr shows up in
   GET /progress, and DELETE /students erases it again (nothing is left behind).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from alembic.config import Config
from alembic.script import ScriptDirectory

HERE = Path(__file__).resolve().parent


class CheckFailed(Exception):
    pass


class Warn(str):
    """A check's answer that passes but that the operator should read (WARN, not FAIL)."""


def report(ok: bool, name: str, detail: str) -> None:
    status = "FAIL" if not ok else "WARN" if isinstance(detail, Warn) else "PASS"
    sys.stdout.write(f"{status}  {name}: {detail}\n")
    sys.stdout.flush()


async def check_health(api: httpx.AsyncClient) -> str:
    r = await api.get("/health")
    body = r.json()
    states = ", ".join(f"{c['name']} {c['status']}" for c in body.get("checks", []))
    if r.status_code != 200:
        raise CheckFailed(f"HTTP {r.status_code}; {states}; down: {body.get('down')}")
    return states


async def check_migrations(database_url: str) -> str:
    script = ScriptDirectory.from_config(Config(str(HERE / "alembic.ini")))
    head = script.get_current_head()
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        current = await conn.fetchval("select version_num from alembic_version")
    finally:
        await conn.close()
    if current == head:
        return f"reachable, at head revision {head}"
    if current is not None and current not in {r.revision for r in script.walk_revisions()}:
        # A newer release migrated it and this one was rolled back: migrations are never
        # undone, and each release works with the next one's schema (expand/contract).
        return Warn(
            f"database at revision {current}, newer than this code's head {head}: "
            "expected after a rollback (docs/install.md, 'Rolling back')"
        )
    raise CheckFailed(f"database at revision {current}, code at {head}: run the migrations")


async def check_end_to_end(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, timeout_s: float
) -> str:
    student = f"verify-{uuid.uuid4().hex[:12]}"
    event_id = f"{student}-e1"
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": "verify.py",
        "type": "exercise.submitted",
        "datacontenttype": "application/json",
        "data": {
            "event_id": event_id,
            "student_id": student,
            "occurred_at": datetime.now(UTC).isoformat(),
            "topic_id": "verify.synthetic",
            "exercise_id": "verify-ex",
            "passed": True,
            "score": 100,
        },
    }
    start = time.monotonic()
    r = await dapr.post(
        "/v1.0/publish/kafka-pubsub/exercise.events",
        content=json.dumps(event),
        params={"metadata.partitionKey": student},
        headers={"content-type": "application/cloudevents+json"},
    )
    if r.status_code != 204:
        raise CheckFailed(f"publish through Dapr failed: HTTP {r.status_code} {r.text[:200]}")
    try:
        while True:
            p = await api.get(f"/progress/{student}")
            if p.status_code == 200 and p.json().get("events_applied", 0) >= 1:
                break
            if p.status_code not in (200, 404):
                raise CheckFailed(f"GET /progress: HTTP {p.status_code} {p.text[:200]}")
            if time.monotonic() - start > timeout_s:
                raise CheckFailed(f"event not reflected in /progress within {timeout_s:g}s")
            await asyncio.sleep(0.2)
        latency = time.monotonic() - start
    finally:
        erased = await api.delete(f"/students/{student}")
    if erased.status_code not in (200, 404):
        raise CheckFailed(f"erasure of {student} failed: HTTP {erased.status_code}")
    gone = await api.get(f"/progress/{student}")
    if gone.status_code != 404:
        raise CheckFailed(f"{student} still readable after erasure (HTTP {gone.status_code})")
    return f"publish -> /progress in {latency * 1000:.0f} ms, then erased ({student})"


async def run(args: argparse.Namespace) -> int:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    dapr_headers = {"dapr-api-token": args.dapr_token} if args.dapr_token else {}
    checks: list[tuple[str, Callable[[], Awaitable[str]]]] = []
    async with (
        httpx.AsyncClient(base_url=args.url, headers=headers, timeout=10) as api,
        httpx.AsyncClient(base_url=args.dapr_url, headers=dapr_headers, timeout=10) as dapr,
        httpx.AsyncClient(base_url=args.host_url or args.url, timeout=10) as host,
    ):
        checks.append(("health", lambda: check_health(api)))
        if args.host_url:  # split: the actor host's own health (its /health, no token)
            checks.append(("actor host health", lambda: check_health(host)))
        if args.database_url:
            checks.append(("postgres migrated", lambda: check_migrations(args.database_url)))
        else:
            report(False, "postgres migrated", "no --database-url / VERIFY_DATABASE_URL given")
        checks.append(("end-to-end event", lambda: check_end_to_end(api, dapr, args.timeout)))
        failures = 0 if args.database_url else 1
        for name, check in checks:
            try:
                report(True, name, await check())
            except (
                CheckFailed,
                httpx.HTTPError,
                OSError,
                asyncpg.PostgresError,
                ValueError,
            ) as exc:
                failures += 1
                report(False, name, str(exc) or exc.__class__.__name__)
    sys.stdout.write(
        f"{len(checks) + (0 if args.database_url else 1) - failures} passed, {failures} failed\n"
    )
    return 1 if failures else 0


def main() -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=env("VERIFY_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--dapr-url", default=env("VERIFY_DAPR_URL", "http://127.0.0.1:3500"))
    parser.add_argument("--token", default=env("VERIFY_TOKEN"), help="an admin JWT")
    parser.add_argument("--dapr-token", default=env("VERIFY_DAPR_TOKEN"))
    parser.add_argument("--database-url", default=env("VERIFY_DATABASE_URL"))
    parser.add_argument(
        "--host-url",
        default=env("VERIFY_HOST_URL"),
        help="the actor host's address when the roles run apart (docs/operations.md, Roles)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for the event")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
