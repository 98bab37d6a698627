"""Writes and reads of the retained learning events (table ``learning_events``,
migration 0008; decision 010).

The intake logs every valid event of a delivery while the students' actors apply them;
an event delivered again is already there (primary key: student, event id). Events are
kept ``retention`` long, by event time, then pruned. Readers: the per-exercise class view
(service/readmodel/views.py) and the rule dry run (service/rulesets/dry_run.py), which
replays a student's events in the order they were logged — their delivery order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg
import structlog

from service.coalescing import Coalescer
from service.db import idempotent

log = structlog.get_logger("event_log")
EVENTS_PER_WRITE = 2000

# One statement for any number of events: one array per column, in the given order (the
# identity column then numbers them in delivery order).
_INSERT = """
INSERT INTO learning_events (student_id, event_id, type, occurred_at, topic_id, exercise_id, data)
SELECT student_id, event_id, type, occurred_at::timestamptz, topic_id, exercise_id, data
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::jsonb[]) WITH ORDINALITY
     AS e(student_id, event_id, type, occurred_at, topic_id, exercise_id, data, n)
ORDER BY n
ON CONFLICT DO NOTHING
"""

_STUDENT_EVENTS = """
SELECT student_id, type, data::text FROM learning_events
WHERE student_id = ANY($1::text[]) AND occurred_at >= $2 AND occurred_at <= $3
ORDER BY student_id, seq
"""

_COUNTS_OF = """
SELECT student_id, count(*) FROM learning_events
WHERE student_id = ANY($1::text[]) AND occurred_at >= $2 AND occurred_at <= $3
GROUP BY student_id
"""

_COUNTS_BETWEEN = """
SELECT student_id, count(*) FROM learning_events WHERE occurred_at >= $1 AND occurred_at <= $2
GROUP BY student_id
"""


class LoggedEvent(Protocol):
    """A valid event as the intake accepted it (service/actorhost/intake.py ``Accepted``)."""

    @property
    def student_id(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def data_json(self) -> str: ...  # ``data`` as compact JSON text, encoded once


@dataclass(frozen=True)
class LogEntry:
    """A :class:`LoggedEvent` written by something other than the intake (the fit job's
    tests, benchmarks)."""

    student_id: str
    event_id: str
    type: str
    data: dict[str, Any]
    data_json: str


def _row(event: LoggedEvent) -> tuple[Any, ...]:
    data = event.data
    return (
        event.student_id,
        event.event_id,
        event.type,
        data["occurred_at"],
        data.get("topic_id"),
        data.get("exercise_id"),
        event.data_json,
    )


class EventLog:
    def __init__(self, pool: asyncpg.Pool, retention: timedelta) -> None:
        self._pool = pool  # plain asyncpg (service/db.py create_write_pool)
        self.retention = retention
        self._writes: Coalescer[LoggedEvent] = Coalescer(self._insert, EVENTS_PER_WRITE)

    async def write(self, events: Sequence[LoggedEvent]) -> None:
        """Log these events (the data as the intake encoded it for the actors), in one
        statement with those of concurrent deliveries (service/coalescing.py)."""
        await self._writes.submit(list(events))

    async def _insert(self, events: list[LoggedEvent]) -> None:
        rows = [_row(e) for e in events]
        columns = [list(c) for c in zip(*rows, strict=True)]
        # one statement, in autocommit; written twice, the second adds nothing
        await idempotent(self._pool, lambda pg: pg.execute(_INSERT, *columns))

    async def events_of(
        self, student_ids: list[str], since: datetime, until: datetime
    ) -> dict[str, list[dict[str, Any]]]:
        """Each student's logged events between ``since`` and ``until`` (event time), in
        delivery order, as ``{"type", "data"}`` with ``data`` its JSON text: decoded by
        the replay (a worker thread or process), not on the event loop."""
        async with self._pool.acquire() as pg:
            found = await pg.fetch(_STUDENT_EVENTS, student_ids, since, until)
        out: dict[str, list[dict[str, Any]]] = {}
        for student_id, event_type, data in found:
            out.setdefault(student_id, []).append({"type": event_type, "data": data})
        return out

    async def counts_per_student(
        self, student_ids: list[str] | None, since: datetime, until: datetime
    ) -> dict[str, int]:
        """Per student with events there, how many :meth:`events_of` would return (every
        student: None)."""
        async with self._pool.acquire() as pg:
            if student_ids is None:
                found = await pg.fetch(_COUNTS_BETWEEN, since, until)
            else:
                found = await pg.fetch(_COUNTS_OF, student_ids, since, until)
        return {r[0]: int(r[1]) for r in found}

    async def delete_student(self, student_id: str) -> None:
        async with self._pool.acquire() as pg:
            await pg.execute("DELETE FROM learning_events WHERE student_id = $1", student_id)

    async def prune(self) -> int:
        """Drop events older than the retention (by event time); how many went."""
        async with self._pool.acquire() as pg:
            status = await pg.execute(
                "DELETE FROM learning_events WHERE occurred_at < now() - $1::interval",
                self.retention,
            )
        return int(status.split()[-1])

    async def prune_once(self) -> None:
        """:meth:`prune`, logged; the database away: the next period tries again."""
        try:
            pruned = await self.prune()
        except Exception as exc:  # logged; the next period tries again
            log.warning("event_log_prune_failed", error=repr(exc))
            return
        if pruned:
            log.info("event_log_pruned", events=pruned)
