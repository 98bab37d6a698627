"""Live struggle alerts and their changes for Server-Sent Events, fed by PostgreSQL
LISTEN/NOTIFY.

Inserting an alert or changing its status fires ``NOTIFY struggle_alerts`` (migrations
0003 and 0013), whichever replica wrote it. Each replica keeps one LISTEN connection and
wakes its stream clients; a client then reads the alerts whose ``change_seq`` is after
the last one it sent, so a missed or coalesced notification loses nothing, and
``Last-Event-ID`` resumes exactly. Each frame is one alert in its current state, named
by what happened to it last (docs/api.md, "The alert stream").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import structlog

from service.alerts.repository import AlertRepository
from service.alerts.schemas import Alert
from service.db import asyncpg_dsn
from service.rosters.scope import EVERYONE, Scope

log = structlog.get_logger("alert_stream")
CHANNEL = "struggle_alerts"


class AlertBroadcaster:
    def __init__(self, database_url: str) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._conn: asyncpg.Connection | None = None
        self._waiters: set[asyncio.Event] = set()
        self._lock = asyncio.Lock()

    async def _ensure_listening(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            self._conn = await asyncpg.connect(self._dsn)
            await self._conn.add_listener(CHANNEL, self._notified)
            log.info("listening", channel=CHANNEL)

    def _notified(self, *_: Any) -> None:
        for event in self._waiters:
            event.set()

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    async def events(
        self,
        queries: AlertRepository,
        after: int,
        heartbeat_s: float,
        scope: Scope = EVERYONE,
        class_id: str | None = None,
    ) -> AsyncIterator[str]:
        """SSE frames: each alert changed after ``after`` (id = its change_seq) that
        ``scope`` reaches when it is read (and is about ``class_id``, when given),
        heartbeat comments in between. The caller fixes ``after`` before the response
        starts: a client that sees the response begin gets every change made from then
        on."""
        await self._ensure_listening()
        wake = asyncio.Event()
        self._waiters.add(wake)
        position = after
        try:
            yield f": struggle alert changes after {position}\nretry: 3000\n\n"
            while True:
                while True:  # until a page is not full: a long resume is read at once
                    rows = await queries.changed_after(position, scope, class_id, PAGE)
                    for row in rows:
                        position = int(row["change_seq"])
                        yield frame(row)
                    if len(rows) < PAGE:
                        break
                try:
                    await asyncio.wait_for(wake.wait(), heartbeat_s)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    await self._ensure_listening()  # reconnect if the listener dropped
                wake.clear()
        finally:
            self._waiters.discard(wake)


PAGE = 500
# status -> (the frame's event name, the change it reports). ``struggle`` is the name
# new alerts had before changes were streamed, kept so existing clients go on working.
EVENTS: dict[str, tuple[str, str]] = {
    "open": ("struggle", "raised"),
    "acknowledged": ("struggle.acknowledged", "acknowledged"),
    "resolved": ("struggle.resolved", "resolved"),
}

# The 200 answer's description in the OpenAPI document (tests/unit/test_openapi.py).
FRAME_FORMAT = (
    "Server-Sent Events, one frame per alert change the caller reaches: `id:` the "
    "change's sequence number (resume after it with the Last-Event-ID header or "
    "?last_event_id=), `event:` what happened — "
    + ", ".join(f"`{event}` (`{change}`)" for event, change in EVENTS.values())
    + " — and `data:` one JSON object: `change` (the word in brackets) and the alert in "
    "its current state, as the `Alert` schema (GET /struggles/{alert_id}). An alert "
    "changed twice between two reads is one frame, its latest change. Comment lines "
    "(`: heartbeat`) every PROGRESS_SSE_HEARTBEAT_S seconds. docs/api.md, 'The alert "
    "stream'."
)


def frame(row: dict[str, Any]) -> str:
    """One SSE frame: ``id`` = the change's sequence number, ``event`` = what happened
    (by the alert's status: a new alert is open, a later change sets acknowledged or
    resolved), ``data`` = ``{"change": ..., **the alert as GET /struggles/{id} shows
    it}``."""
    event, change = EVENTS[row["status"]]
    document = Alert.model_validate(row).model_dump(mode="json")
    data = json.dumps({"change": change, **document}, separators=(",", ":"))
    return f"id: {row['change_seq']}\nevent: {event}\ndata: {data}\n\n"
