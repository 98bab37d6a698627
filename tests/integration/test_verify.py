"""verify.py against the local stack: passes when all is well, fails loudly when not."""

import asyncio
import os
import subprocess
import sys

import asyncpg

from service.dev_token import mint
from tests.integration.stack import REPO, Ports, stack_secret


def verify(ports: Ports, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VERIFY_URL": ports.app_url,
        "VERIFY_DAPR_URL": ports.dapr_url,
        "VERIFY_TOKEN": mint("admin", "verify-test"),
        "VERIFY_DAPR_TOKEN": stack_secret("dapr_api_token"),
        "VERIFY_DATABASE_URL": ports.database_url,
        **overrides,
    }
    return subprocess.run(
        [sys.executable, str(REPO / "verify.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_passes_on_a_healthy_stack(ports: Ports, host_ports: Ports) -> None:
    split = host_ports != ports  # the test stack runs the two roles (conftest.py)
    result = verify(ports, **({"VERIFY_HOST_URL": host_ports.app_url} if split else {}))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[: 4 if split else 3]] == [
        "PASS  health",
        *(["PASS  actor host health"] if split else []),
        "PASS  postgres migrated",
        "PASS  end-to-end event",
    ]


def test_verify_fails_with_a_readable_line(ports: Ports) -> None:
    result = verify(
        ports,
        VERIFY_TOKEN=mint("teacher", "not-admin"),
        VERIFY_DATABASE_URL="postgresql://progress:wrong@127.0.0.1:1/progress",
    )
    assert result.returncode == 1
    assert "FAIL  postgres migrated" in result.stdout
    assert "FAIL  end-to-end event" in result.stdout  # erasure needs an admin token


async def _database_at(ports: Ports, name: str, revision: str) -> str:
    """A database holding only Alembic's version row at ``revision``; its URL."""
    admin = await asyncpg.connect(ports.database_url.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.execute(f'create database "{name}"')
    finally:
        await admin.close()
    url = ports.database_url.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("create table alembic_version (version_num varchar(32) primary key)")
        await conn.execute("insert into alembic_version values ($1)", revision)
    finally:
        await conn.close()
    return url


async def test_verify_warns_of_a_newer_schema_and_fails_on_an_older_one(ports: Ports) -> None:
    """After a rollback the schema stays at the newer release's revision, which this code
    does not know: a WARN (the release works with it); a known older revision means the
    migrations did not run: a FAIL."""
    ahead = await _database_at(ports, "progress_verify_ahead", "9999_next_release")
    result = await asyncio.to_thread(verify, ports, VERIFY_DATABASE_URL=ahead)
    assert result.returncode == 0, result.stdout
    assert "WARN  postgres migrated: database at revision 9999_next_release, newer" in (
        result.stdout
    )
    behind = await _database_at(ports, "progress_verify_behind", "0001")
    result = await asyncio.to_thread(verify, ports, VERIFY_DATABASE_URL=behind)
    assert result.returncode == 1
    assert "FAIL  postgres migrated: database at revision 0001" in result.stdout
