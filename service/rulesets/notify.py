"""Rule set applies reach every process at once: the apply's transaction sends
``NOTIFY rule_sets_applied`` (service/rulesets/repository.py) and every process that
keeps rules in force LISTENs and refreshes on it. The periodic refresh stays as the
fallback while the listening connection is down. Needed since the roles split: an admin
applies on a front end, and the actor host's actors must use the new rules from the
next turn, not up to RULES_REFRESH later."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg
import structlog

from service.db import asyncpg_dsn
from service.rulesets.repository import APPLIED_CHANNEL

CHANNEL = APPLIED_CHANNEL
RECONNECT_S = 5.0
log = structlog.get_logger("rules")


class AppliedRulesListener:
    def __init__(self, database_url: str, refresh: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._refresh = refresh
        self._tasks: set[asyncio.Task[None]] = set()

    def _notified(self, *_: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._refresh())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after a lost connection."""
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
                try:
                    closed = asyncio.Event()
                    conn.add_termination_listener(lambda _, ended=closed: ended.set())
                    await conn.add_listener(CHANNEL, self._notified)
                    await self._refresh()  # an apply made while not listening
                    await closed.wait()
                finally:
                    await conn.close()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("rule_set_listener_down", error=repr(exc))
            await asyncio.sleep(RECONNECT_S)
