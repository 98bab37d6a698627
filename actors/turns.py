"""One call at a time per actor id inside this process, whatever daprd does.

Dapr promises turn-based access to an actor, but daprd 1.18 breaks the promise during a
placement change (a replica joins or dies): it waits 2 s for in-flight actor calls of the
rebalanced type, then cancels them on its side and releases the actor's turn, while the
app is still running the call. Worse, such a call is usually stuck on daprd itself:
every actor state write takes the placement lock that the change holds. So the caller's
retry (or the next event for the same student from another topic) arrives while the
first call is still in the app, both calls share the SDK's per-actor state cache, and
the one that saves last wins: the fault suite lost an event that the app had reported
as applied (kill one of three replicas; see docs/decisions/003-per-actor-turn-lock.md).

Holding a per-id asyncio lock for the whole call restores the order: the retry waits
for the cancelled call to finish, then sees its save (and treats the event as a
duplicate). The lock is per id, not per actor object, because the SDK may build a new
object for an id while a call on the old one is still running (deactivate, reactivate).
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
