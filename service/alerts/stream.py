"""Live struggle alerts for Server-Sent Events, fed by PostgreSQL LISTEN/NOTIFY.

An insert into struggle_alerts fires ``NOTIFY struggle_alerts, '<seq>'`` (migration
0003), whichever replica wrote it. Each replica keeps one LISTEN connection and wakes
its stream clients; a client then reads the rows after the last ``seq`` it sent, so a
missed or coalesced notification loses nothing, and ``Last-Event-ID`` resumes exactly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import structlog

from service.alerts.repository import AlertRepository
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
        after_seq: int,
        heartbeat_s: float,
        scope: Scope = EVERYONE,
        class_id: str | None = None,
    ) -> AsyncIterator[str]:
        """SSE frames: each alert after ``after_seq`` (id = seq) that ``scope`` reaches
        when it is read (and is about ``class_id``, when given), heartbeat comments in
        between. The caller fixes ``after_seq``
        before the response starts: a client that sees the response begin gets every
        alert raised from then on."""
        await self._ensure_listening()
        wake = asyncio.Event()
        self._waiters.add(wake)
        position = after_seq
        try:
            yield f": stream of new struggle alerts after seq {position}\nretry: 3000\n\n"
            while True:
                for row in await queries.after_seq(position, scope, class_id):
                    position = int(row["seq"])
                    yield _frame(row)
                try:
                    await asyncio.wait_for(wake.wait(), heartbeat_s)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    await self._ensure_listening()  # reconnect if the listener dropped
                wake.clear()
        finally:
            self._waiters.discard(wake)


def _frame(row: dict[str, Any]) -> str:
    document = {k: v for k, v in row.items() if k not in ("seq", "created_at")}
    data = json.dumps(document, default=str, separators=(",", ":"))
    return f"id: {row['seq']}\nevent: struggle\ndata: {data}\n\n"
