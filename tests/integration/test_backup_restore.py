"""Backup and restore on the real local stack (docs/install.md, "Backup and restore";
decision 014): PostgreSQL and the Dapr scheduler are backed up by runtime/backup.sh,
destroyed, restored by runtime/restore.sh; every student's progress is unchanged and the
reminders armed before the backup still fire. And a state whose reminder the scheduler
lost gets it back from service.ops_backup.rearm.

Both tests stop and start the test instance; the first drops its database and wipes the
scheduler (every instance's reminders), and whatever happens puts back a working stack:
the backup it took first is restored, or the database re-created and migrated."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.integration.stack import REPO, RUNTIME, STUCK_SECONDS, Ports, Stack, phase
from tests.integration.support import Student, alerts, applied, eventually

STACK_DIR = Path(os.environ.get("STACK_DIR", REPO / ".stack"))
ACTOR = "StudentProgressActor"


def _script(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run a runtime/ script; its stdout, or an AssertionError with everything it said."""
    result = subprocess.run(
        args,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


async def _stored_states(ports: Ports, students: list[str]) -> dict[str, str]:
    """Each student's actor state row, exactly as stored (JSON text)."""
    conn = await asyncpg.connect(ports.database_url)
    try:
        rows = await conn.fetch(
            "select key, value::text as value from dapr_actor_state where key = any($1)",
            [f"{ports.app_id}||{ACTOR}||{s}||student" for s in students],
        )
    finally:
        await conn.close()
    return {r["key"].split("||")[2]: r["value"] for r in rows}


async def _alert_kinds(ports: Ports, student_id: str) -> set[str]:
    conn = await asyncpg.connect(ports.database_url)
    try:
        return {r["kind"] for r in await alerts(conn, student_id)}
    finally:
        await conn.close()


def _scores(progress: dict[str, Any]) -> dict[str, Any]:
    """A student's progress without ``open_struggles``, which the reminders firing after
    the restore change, as they should."""
    return {k: v for k, v in progress.items() if k != "open_struggles"}


async def _destroy(ports: Ports) -> None:
    """What a lost database volume and a lost scheduler volume leave: no database, an
    empty scheduler data directory (the scheduler left stopped)."""
    _script(str(RUNTIME / "down.sh"), "scheduler")
    shutil.rmtree(STACK_DIR / "scheduler" / "etcd")
    admin = ports.database_url.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'drop database "{ports.database}" with (force)')
    finally:
        await conn.close()


def _put_back(stack: Stack, backup: Path, restored: bool) -> None:
    """Leave a working stack whatever happened: the backup restored if the test did not
    get that far (the scheduler's other instances' reminders are in it), the database
    there and migrated, the scheduler and the test instance running."""
    env = {"PG_DATABASE": stack.ports.database}
    if (backup / "manifest").exists() and not restored:
        stack.app("stop")
        _script(str(RUNTIME / "restore.sh"), str(backup), env=env)
    _script(str(RUNTIME / "up.sh"), env=env)
    stack.app("start")


async def test_restore_keeps_scores_and_the_reminders_fire(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, stack: Stack, ports: Ports, tmp_path: Path
) -> None:
    scored = Student(dapr, f"br-scored-{uuid.uuid4().hex[:8]}")
    waiting = Student(dapr, f"br-waiting-{uuid.uuid4().hex[:8]}")
    for s, score in ((scored, 91), (waiting, 64)):
        await s.send(
            "exercise.submitted", "python.loops", exercise_id="ex1", passed=True, score=score
        )
        await s.send("exercise.quiz_graded", "python.functions", quiz_id="q1", score=score - 20)
        await s.send("code.reviewed", "python.loops", exercise_id="ex1", quality=score - 5)
    # a pending exercise: the wake-up reminder is armed for STUCK_SECONDS from now
    await waiting.send("exercise.started", "python.lists", exercise_id="never-finished")
    armed_at = time.monotonic()
    before = {s.id: await applied(api, s.id, s.published) for s in (scored, waiting)}
    r = await api.get(f"/ops/students/{waiting.id}/reminders")
    assert r.status_code == 200, r.text
    [wake] = r.json()["reminders"]
    assert wake["pending_in_scheduler"] and "stuck" in {d["kind"] for d in wake["deadlines"]}

    backup = tmp_path / "backup"
    restored = False
    stack.app("stop")  # quiesce: no turn writes state or reminders from here on
    try:
        assert time.monotonic() - armed_at < STUCK_SECONDS, "too slow: the reminder fired first"
        assert "stuck" not in await _alert_kinds(ports, waiting.id)
        states = await _stored_states(ports, [scored.id, waiting.id])
        assert set(states) == {scored.id, waiting.id}

        with phase("backup"):
            _script(str(RUNTIME / "backup.sh"), str(backup), env={"PG_DATABASE": ports.database})
        assert {p.name for p in backup.iterdir()} == {
            "postgres.dump",
            "scheduler-etcd.tar.gz",
            "manifest",
        }
        await _destroy(ports)
        with phase("restore"):
            _script(str(RUNTIME / "restore.sh"), str(backup))
        restored = True

        # the state rows are byte for byte what was backed up, before the app runs
        assert await _stored_states(ports, [scored.id, waiting.id]) == states
        stack.app("start")
        for s in (scored, waiting):
            r = await api.get(f"/progress/{s.id}")
            assert r.status_code == 200, r.text
            assert _scores(r.json()) == _scores(before[s.id])

        # the stuck reminder, due while everything was down, fires from the restored
        # scheduler (nothing else re-arms it: no event came since)
        async def fired() -> set[str] | None:
            kinds = await _alert_kinds(ports, waiting.id)
            return kinds if "stuck" in kinds else None

        await eventually(fired, timeout=90, interval=1)
        after = (await api.get(f"/progress/{waiting.id}")).json()
        assert after["open_struggles"] >= 1
        assert _scores(after) == _scores(before[waiting.id])
    finally:
        _put_back(stack, backup, restored)


async def test_rearm_gives_a_state_back_the_reminder_the_scheduler_lost(
    api: httpx.AsyncClient,
    dapr: httpx.AsyncClient,
    host_dapr: httpx.AsyncClient,
    stack: Stack,
    ports: Ports,
    host_ports: Ports,
) -> None:
    """State says "armed", the scheduler holds nothing (its backup was older than the
    database's, or its volume was lost): without rearm nothing fires; with it, it does."""
    student = Student(dapr, f"br-lost-{uuid.uuid4().hex[:8]}")
    await student.send("exercise.started", "python.lists", exercise_id="lost-reminder")
    armed_at = time.monotonic()
    await applied(api, student.id, student.published)
    # only the sidecar of the process hosting the actors may touch their reminders
    r = await host_dapr.delete(f"/v1.0/actors/{ACTOR}/{student.id}/reminders/wake")
    assert r.status_code in (200, 204), r.text
    [wake] = (await api.get(f"/ops/students/{student.id}/reminders")).json()["reminders"]
    assert not wake["pending_in_scheduler"]

    await asyncio.sleep(max(STUCK_SECONDS + 5 - (time.monotonic() - armed_at), 0))
    assert "stuck" not in await _alert_kinds(ports, student.id), "fired without a reminder?"

    env = {
        **os.environ,
        "PROGRESS_DATABASE_URL": ports.database_url.replace(
            "postgresql://", "postgresql+asyncpg://", 1
        ),
        "DAPR_HTTP_PORT": str(host_ports.dapr_http),  # rearm runs beside the actor host
        "DAPR_API_TOKEN": (STACK_DIR / "secrets" / "dapr_api_token").read_text().strip(),
    }
    rearm = [str(REPO / ".venv/bin/python"), "-m", "service.ops_backup.rearm"]
    dry = subprocess.run([*rearm, "--dry-run"], cwd=REPO, env=env, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "would register" in dry.stdout and "failed 0" in dry.stdout
    assert "stuck" not in await _alert_kinds(ports, student.id)

    done = subprocess.run(rearm, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    registered = int(done.stdout.split("registered ")[1].split(",")[0])
    assert registered >= 1, done.stdout

    async def fired() -> bool:
        return "stuck" in await _alert_kinds(ports, student.id)

    await eventually(fired, timeout=30, interval=1)
