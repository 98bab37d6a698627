"""Re-arm the students' wake-up reminders from their stored state, after a restore.

    python -m service.ops_backup.rearm [--all] [--dry-run] [--concurrency N]

Each student's actor state records when its one wake-up reminder is armed (``wake_due``,
decision 006); the Dapr scheduler holds the reminder itself. A PostgreSQL backup and a
scheduler backup are two snapshots taken one after the other, so after a restore a
student may have state that says "armed for T" while the scheduler holds no reminder:
its stuck or inactivity alert would then wait for the student's next event, which a
student who does not come back never sends. This tool reads every stored student state
and registers, through the app's own daprd, each wake-up reminder the state implies that
the scheduler does not hold (``--all``: every one, also those it holds; they are
overwritten with the state's due time). A reminder whose time has passed is registered
to fire now; firing raises what is due and re-arms for the next deadline.

Reads ``PROGRESS_DATABASE_URL`` and daprd's address and token from the service's own
settings (run it where the app runs: ``kubectl exec`` into an app pod, or beside
``make run``). Prints one summary line; exits 1 when a state could not be read or a
reminder could not be registered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from dapr.actor.runtime._reminder_data import ActorReminderData
from dapr.clients.exceptions import DaprHttpError
from dapr.serializers import DefaultJSONSerializer

from actors.config import DomainConfig
from actors.interface import ACTOR_TYPE
from actors.rules import expected_reminders
from actors.stored_state import decode_state
from actors.student_actor import REMINDER_FAILURE_POLICY, STATE_KEY
from service.dapr.http_client import DaprHttp, DaprUnreachable, PooledActorClient
from service.dapr.sidecar import Sidecar, SidecarError
from service.settings import Settings, domain_config

STATE_TABLE = "dapr_actor_state"  # the actorstate component's tableName (helm, components/)
_SERIALIZER = DefaultJSONSerializer()


@dataclass(frozen=True)
class WakeUp:
    """A reminder one student's state says is armed."""

    student_id: str
    name: str
    kind: str
    due_at: datetime


@dataclass
class Tally:
    students: int = 0
    armed_in_state: int = 0
    held: int = 0
    registered: int = 0
    unreadable: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def line(self, dry_run: bool) -> str:
        verb = "would register" if dry_run else "registered"
        text = (
            f"students {self.students}, wake-ups armed in state {self.armed_in_state}, "
            f"held by the scheduler {self.held}, {verb} {self.registered}, "
            f"unreadable states {len(self.unreadable)}, failed {len(self.failed)}"
        )
        if self.unreadable:
            text += f"; unreadable: {', '.join(self.unreadable[:10])}"
        if self.failed:
            text += f"; failed: {'; '.join(self.failed[:10])}"
        return text


def student_of_key(key: str) -> str | None:
    """The student id of a state row's key (``<app id>||StudentProgressActor||<id>||student``),
    None for any other row (class actors, other keys)."""
    parts = key.split("||")
    if len(parts) != 4 or parts[1] != ACTOR_TYPE or parts[3] != STATE_KEY or not parts[2]:
        return None
    return parts[2]


def wake_ups(student_id: str, stored: Any, config: DomainConfig) -> list[WakeUp]:
    """The reminders ``stored`` (the row's value as the state store keeps it: JSON text of
    the state, or the state object) says are armed. Raises ValueError when it cannot be
    read (an unknown schema version included)."""
    state = decode_state(stored)
    return [
        WakeUp(
            student_id,
            r["name"],
            r["kind"],
            datetime.fromisoformat(str(r["due_at"]).replace("Z", "+00:00")),
        )
        for r in expected_reminders(state, config)
    ]


def registration_body(wake: WakeUp, now: datetime) -> bytes:
    """The reminder exactly as the actor registers it (actors/student_actor.py): same
    data, failure policy, one-shot; due in (due_at - now), at least 0."""
    reminder = ActorReminderData(
        wake.name,
        json.dumps({"kind": wake.kind}).encode(),
        max(wake.due_at - now, timedelta(0)),
        None,
        None,
        REMINDER_FAILURE_POLICY,
    )
    body: bytes = _SERIALIZER.serialize(reminder.as_dict())
    return body


async def stored_states(
    conn: asyncpg.Connection, table: str, batch: int = 500
) -> AsyncIterator[tuple[str, Any]]:
    """(student id, stored value) of every student state row, read in batches."""
    query = f'select key, value from "{table}" where key like $1'  # noqa: S608 (fixed name)
    async with conn.transaction(readonly=True):
        async for row in conn.cursor(query, f"%||{ACTOR_TYPE}||%", prefetch=batch):
            student = student_of_key(row["key"])
            if student is not None:
                value = row["value"]
                yield student, json.loads(value) if isinstance(value, str) else value


async def _rearm_one(
    wake: WakeUp,
    sidecar: Sidecar,
    actors: PooledActorClient,
    tally: Tally,
    everything: bool,
    dry_run: bool,
) -> None:
    try:
        held = await sidecar.get_reminder(ACTOR_TYPE, wake.student_id, wake.name)
        if held is not None:
            tally.held += 1
            if not everything:
                return
        if not dry_run:
            await actors.register_reminder(
                ACTOR_TYPE, wake.student_id, wake.name, registration_body(wake, datetime.now(UTC))
            )
        tally.registered += 1
    except (SidecarError, DaprHttpError, DaprUnreachable) as exc:  # reported in the summary
        tally.failed.append(f"{wake.student_id}: {exc}")


async def rearm(
    settings: Settings, table: str, everything: bool, dry_run: bool, concurrency: int
) -> Tally:
    config = domain_config(settings)
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    tally = Tally()
    http = DaprHttp(settings, timeout_s=15.0, pool_size=concurrency)
    sidecar, actors = Sidecar(settings, http), PooledActorClient(http)
    queue: asyncio.Queue[WakeUp | None] = asyncio.Queue(maxsize=concurrency * 4)

    async def worker() -> None:
        while (wake := await queue.get()) is not None:
            await _rearm_one(wake, sidecar, actors, tally, everything, dry_run)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            async for student, stored in stored_states(conn, table):
                tally.students += 1
                try:
                    found = wake_ups(student, stored, config)
                except ValueError as exc:
                    tally.unreadable.append(f"{student} ({exc})")
                    continue
                for wake in found:
                    tally.armed_in_state += 1
                    await queue.put(wake)
        finally:
            await conn.close()
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
    finally:
        await http.aclose()
    return tally


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--all",
        action="store_true",
        help="register every wake-up the state implies, also those the scheduler holds",
    )
    parser.add_argument("--dry-run", action="store_true", help="count, register nothing")
    parser.add_argument("--concurrency", type=int, default=8, help="daprd calls in flight")
    parser.add_argument("--table", default=STATE_TABLE, help="the actor state table")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if not args.table.replace("_", "").isalnum():
        parser.error(f"--table {args.table!r}: letters, digits and _ only")
    tally = asyncio.run(rearm(Settings(), args.table, args.all, args.dry_run, args.concurrency))
    sys.stdout.write(tally.line(args.dry_run) + "\n")
    sys.exit(1 if tally.unreadable or tally.failed else 0)


if __name__ == "__main__":
    main()
