"""Natural batching of one kind of call made by many concurrent actor turns.

At part load a delivery batch holds one or two students, so each turn's own bulk publish
of ``progress.updated`` was a request to daprd and a produce request to Kafka per event;
on the shared two cores Kafka then spent more CPU than the app (docs/performance.md).
``Coalescer`` sends what turns submit while a send is in flight together in the next
send: no timer, so an idle service sends at once, and a busy one sends fewer, larger
requests. Each caller still waits for the send that carries its items and gets its
error, so a turn ends only when its messages are out, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Coalescer(Generic[T]):
    """``submit(items)`` returns once ``send`` has carried ``items`` (with whatever else
    was submitted meanwhile, at most ``max_items`` per send unless one submission is
    larger) and raises what that send raised."""

    def __init__(self, send: Callable[[list[T]], Awaitable[None]], max_items: int) -> None:
        self._send = send
        self._max_items = max_items
        self._waiting: list[tuple[list[T], asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def submit(self, items: list[T]) -> None:
        if not items:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((items, done))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_waiting())
        await done

    def _take(self) -> list[tuple[list[T], asyncio.Future[None]]]:
        taken: list[tuple[list[T], asyncio.Future[None]]] = []
        count = 0
        while self._waiting and (not taken or count + len(self._waiting[0][0]) <= self._max_items):
            items, done = self._waiting.pop(0)
            if done.cancelled():  # its turn gave up; the turn's outbox still has them
                continue
            taken.append((items, done))
            count += len(items)
        return taken

    async def _send_waiting(self) -> None:
        while self._waiting:
            group = self._take()
            if not group:
                continue
            try:
                await self._send([item for items, _ in group for item in items])
            except Exception as exc:  # each caller gets the error of the send it was in
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in group:
                    if not done.done():
                        done.set_result(None)
