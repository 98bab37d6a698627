"""The StudentProgressActor interface: what callers (through ActorProxy) may invoke.

Methods take at most one JSON-serialisable argument and return JSON data (the SDK
cannot serialise custom objects), so arguments and results are plain dicts.
"""

from abc import abstractmethod
from typing import Any

from dapr.actor import ActorInterface, actormethod

ACTOR_TYPE = "StudentProgressActor"


class StudentProgressActorInterface(ActorInterface):
    @actormethod(name="ApplyEvent")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def apply_event(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Apply one validated event ``{"type": ..., "data": {...}}``; returns
        ``{"outcome": "applied" | "duplicate", "changed_topics": [...]}``."""
        ...

    @actormethod(name="GetProgress")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def get_progress(self) -> dict[str, Any]:
        """``{"found": false}`` for a student never seen, else the progress view."""
        ...
