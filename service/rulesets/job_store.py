"""The dry_runs table (migration 0010): background dry runs, their progress and
reports, read by any replica (decision 011)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.errors import Conflict, NotFound

# A running dry run's replica writes its heartbeat every HEARTBEAT; one not written for
# STALE_AFTER is a replica gone (stopped, crashed): the dry run is marked failed.
HEARTBEAT = timedelta(seconds=10)
STALE_AFTER = timedelta(seconds=60)
KEPT_FOR = timedelta(days=7)  # finished dry runs, then pruned
LISTED = 20

# every column but the report, which only GET /rules/dry-runs/{id} shows
_SUMMARY_COLUMNS = (
    "id, status, requested_by, requested_at, class_id, since, until, current_version, "
    "candidate_version, candidate, students_total, events_total, students_done, "
    "events_done, heartbeat_at, finished_at, error"
)
_COLUMNS = f"{_SUMMARY_COLUMNS}, report"
_RUNNING = "dry_runs_one_running"
_GONE = "the replica running it stopped before it finished; start it again"


def _out(row: Any) -> dict[str, Any]:
    found = dict(row._mapping)
    found["id"] = str(found["id"])
    for key in ("candidate", "report"):
        if isinstance(found[key], str):
            found[key] = json.loads(found[key])
    return found


class DryRunStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self,
        *,
        requested_by: str,
        class_id: str | None,
        since: datetime,
        until: datetime,
        current_version: int,
        candidate_version: int | None,
        candidate: dict[str, Any],
        students_total: int,
        events_total: int,
    ) -> dict[str, Any]:
        """A new running dry run; :class:`Conflict` naming the one already running."""
        await self.fail_stale()
        values = {
            "id": uuid.uuid4(),
            "who": requested_by,
            "class_id": class_id,
            "since": since,
            "until": until,
            "current": current_version,
            "version": candidate_version,
            "candidate": json.dumps(candidate),
            "students": students_total,
            "events": events_total,
        }
        try:
            async with self._engine.begin() as conn:
                row = (
                    await conn.execute(
                        text(
                            "INSERT INTO dry_runs (id, status, requested_by, class_id, since, "
                            "until, current_version, candidate_version, candidate, "
                            "students_total, events_total) VALUES (:id, 'running', :who, "
                            ":class_id, :since, :until, :current, :version, "
                            f"CAST(:candidate AS jsonb), :students, :events) RETURNING {_COLUMNS}"
                        ),
                        values,
                    )
                ).one()
        except IntegrityError as exc:
            if _RUNNING not in str(exc.orig):
                raise
            running = await self._running()
            raise Conflict(
                "a dry run is running (one at a time): poll it, then start this one",
                {"running": running},
            ) from exc
        return _out(row)

    async def _running(self) -> str | None:
        async with self._engine.connect() as conn:
            found = await conn.scalar(text("SELECT id FROM dry_runs WHERE status = 'running'"))
        return None if found is None else str(found)

    async def progress(self, run_id: str, students_done: int, events_done: int) -> None:
        await self._update(
            run_id,
            "students_done = :students, events_done = :events, heartbeat_at = now()",
            {"students": students_done, "events": events_done},
        )

    async def beat(self, run_id: str) -> None:
        await self._update(run_id, "heartbeat_at = now()", {})

    async def finish(self, run_id: str, report: dict[str, Any]) -> None:
        await self._update(
            run_id,
            "status = 'done', report = CAST(:report AS jsonb), finished_at = now(), "
            "heartbeat_at = now()",
            {"report": json.dumps(report, default=str)},
        )

    async def fail(self, run_id: str, error: str) -> None:
        await self._update(
            run_id,
            "status = 'failed', error = :error, finished_at = now(), heartbeat_at = now()",
            {"error": error},
        )

    async def _update(self, run_id: str, assignments: str, values: dict[str, Any]) -> None:
        """Only a running dry run changes: a finished one is as it ended."""
        async with self._engine.begin() as conn:
            await conn.execute(
                text(f"UPDATE dry_runs SET {assignments} WHERE id = :id AND status = 'running'"),
                {**values, "id": uuid.UUID(run_id)},
            )

    async def fail_stale(self) -> int:
        """Mark failed the running dry runs whose replica stopped writing its heartbeat."""
        async with self._engine.begin() as conn:
            done = await conn.execute(
                text(
                    "UPDATE dry_runs SET status = 'failed', error = :error, finished_at = now() "
                    "WHERE status = 'running' AND heartbeat_at < now() - CAST(:stale AS interval)"
                ),
                {"error": _GONE, "stale": STALE_AFTER},
            )
        return int(done.rowcount)

    async def get(self, run_id: str) -> dict[str, Any]:
        await self.fail_stale()
        try:
            key = uuid.UUID(run_id)
        except ValueError:
            key = None
        row = None
        if key is not None:
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(
                        text(f"SELECT {_COLUMNS} FROM dry_runs WHERE id = :id"), {"id": key}
                    )
                ).first()
        if row is None:
            raise NotFound(f"no dry run {run_id!r}")
        return _out(row)

    async def recent(self) -> list[dict[str, Any]]:
        """The newest dry runs, without their reports."""
        await self.fail_stale()
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        f"SELECT {_SUMMARY_COLUMNS}, NULL AS report "
                        "FROM dry_runs ORDER BY requested_at DESC LIMIT :n"
                    ),
                    {"n": LISTED},
                )
            ).all()
        return [_out(r) for r in rows]

    async def prune(self) -> int:
        """Drop dry runs finished more than KEPT_FOR ago."""
        async with self._engine.begin() as conn:
            done = await conn.execute(
                text("DELETE FROM dry_runs WHERE finished_at < now() - CAST(:kept AS interval)"),
                {"kept": KEPT_FOR},
            )
        return int(done.rowcount)
