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

    @actormethod(name="ListReminders")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def list_reminders(self) -> dict[str, Any]:
        """``{"found": bool, "reminders": [{"name", "kind", "due_at", ...}]}``: the
        reminders this student's state expects to be pending."""
        ...

    @actormethod(name="Erase")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def erase(self) -> dict[str, Any]:
        """Delete the student's state and unregister its reminders; reports what went."""
        ...

    @actormethod(name="GetProgress")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def get_progress(self) -> dict[str, Any]:
        """``{"found": false}`` for a student never seen, else the progress view."""
        ...
