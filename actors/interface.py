"""The StudentProgressActor interface: what callers (through ActorProxy) may invoke.

Methods take at most one JSON-serialisable argument and return JSON data (the SDK
cannot serialise custom objects), so arguments and results are plain dicts; an argument
annotated ``bytes`` is the call's body undecoded (service/dapr/actor_host.py). The
annotations must stay objects (no ``from __future__ import annotations`` here): the SDK
reads them to decode each argument.
"""

from abc import abstractmethod
from typing import Any

from dapr.actor import ActorInterface, actormethod

ACTOR_TYPE = "StudentProgressActor"


class StudentProgressActorInterface(ActorInterface):
    @actormethod(name="ApplyEventBatch")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def apply_event_batch(self, body: bytes) -> dict[str, Any]:
        """Apply this student's validated events of one delivery batch, in order, in one
        turn. ``body`` is the call's body as daprd delivered it, the JSON document of
        actors/event_batch.py (``{"events": [{"type": ..., "data": {...}}, ...],
        "trace_ids": [...]}``): a ``bytes`` argument is handed over undecoded
        (service/dapr/actor_host.py), not through the SDK's JSON decoder, which scans in
        pure Python and turns date-like strings into datetimes. Returns ``{"outcomes":
        ["applied" | "duplicate", ...]}``, one per event; fails as a whole (nothing
        saved) or not at all."""
        ...

    @actormethod(name="ApplyEvents")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def apply_events(self, batch_json: str) -> dict[str, Any]:
        """The previous release's ApplyEventBatch, kept for its intakes during a rolling
        update or after a rollback (decision 019): the same document, sent as one JSON
        string. Same answer."""
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


CLASS_ACTOR_TYPE = "ClassProgressActor"


class ClassProgressActorInterface(ActorInterface):
    @actormethod(name="RecordSignals")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def record_signals(self, payload_json: str) -> dict[str, Any]:
        """Count error signals of the class's students (actors/misconceptions.py). The
        argument is JSON text: ``{"class_size": n, "signals": [{"student_id",
        "topic_id", "error_type", "occurred_at", "event_id"}, ...]}``. Returns
        ``{"raised": n}``, the class_misconception alerts it raised."""
        ...

    @actormethod(name="ForgetStudent")  # type: ignore[untyped-decorator]
    @abstractmethod
    async def forget_student(self, student_id: str) -> dict[str, Any]:
        """Drop the student's signals (erasure). Returns ``{"removed": n}``."""
        ...
