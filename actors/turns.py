"""One call at a time per actor id inside this process, whatever daprd does.

During a placement change daprd 1.18 lets a second call for an actor in while the app
still runs the first, and the two would share the SDK's state cache: the later save
would drop the earlier call's event. Calls hold a per-id lock for their whole run, per
id rather than per actor object (the SDK may build a new object for an id meanwhile).
The story, and what the fault suite saw: docs/decisions/003-per-actor-turn-lock.md.
"""

from __future__ import annotations

import asyncio
import weakref


class TurnLocks:
    """A lock per key, kept only while some call holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock_for(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def __len__(self) -> int:
        return len(self._locks)
