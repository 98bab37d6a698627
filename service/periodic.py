"""A background step the lifespan runs now and then every period, until cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta


async def every(period: timedelta, step: Callable[[], Awaitable[None]]) -> None:
    """``step`` now and after each ``period``; ``step`` logs its own failures."""
    while True:
        await step()
        await asyncio.sleep(period.total_seconds())
