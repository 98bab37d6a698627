"""Calls into StudentProgressActor and ClassProgressActor through daprd, over the
process's pooled connections (service/dapr/http_client.py)."""

from __future__ import annotations

import json
from typing import Any

import structlog
from dapr.clients.exceptions import DaprInternalError

from actors.interface import ACTOR_TYPE, CLASS_ACTOR_TYPE
from service.dapr.http_client import PooledActorClient
from service.errors import Unavailable

log = structlog.get_logger("actor_gateway")


class ActorCallFailed(Unavailable):
    """The actor could not be reached or failed (daprd down, placement moving actors,
    state store unavailable): a server-side, usually transient, fault."""

    def __init__(self, method: str, cause: Exception) -> None:
        super().__init__(f"the student actor is unavailable ({method}): {cause}")


def no_such_method(failed: ActorCallFailed, method: str) -> bool:
    """Whether the actor's host answered that its actor type has no ``method``: the
    SDK's dispatcher raises ActorMethodNotFoundError ("... has no method <name>"), the
    host answers 500 with it, and daprd hands that answer back
    (tests/integration/test_mixed_versions.py)."""
    cause = failed.__cause__
    if not isinstance(cause, DaprInternalError):
        return False
    answer = cause.as_dict()  # type: ignore[no-untyped-call]
    text = f"{answer.get('message')} {answer.get('raw_response_bytes')!r}"
    return f"has no method {method}" in text


class ActorGateway:
    def __init__(self, client: PooledActorClient) -> None:
        self._client = client

    async def _call(
        self,
        actor_id: str,
        method: str,
        body: bytes | None = None,
        actor_type: str = ACTOR_TYPE,
    ) -> dict[str, Any]:
        try:
            raw = await self._client.invoke_method(actor_type, actor_id, method, body)
            result: dict[str, Any] = json.loads(raw)
        except Exception as exc:  # any failure of the remote call
            raise ActorCallFailed(method, exc) from exc
        return result

    async def apply_event_batch(self, student_id: str, body: bytes) -> dict[str, Any]:
        """``body`` as actors/event_batch.py writes it. An actor hosted by the previous
        release (a rolling update, a rollback) does not have ApplyEventBatch: it gets
        the same document as its ApplyEvents takes it, one JSON string (decision 019)."""
        try:
            return await self._call(student_id, "ApplyEventBatch", body)
        except ActorCallFailed as failed:
            if not no_such_method(failed, "ApplyEventBatch"):
                raise
        log.info("actor_method_fallback", student_id=student_id, method="ApplyEvents")
        return await self._call(student_id, "ApplyEvents", json.dumps(body.decode()).encode())

    async def get_progress(self, student_id: str) -> dict[str, Any]:
        return await self._call(student_id, "GetProgress")

    async def list_reminders(self, student_id: str) -> dict[str, Any]:
        return await self._call(student_id, "ListReminders")

    async def erase(self, student_id: str) -> dict[str, Any]:
        return await self._call(student_id, "Erase")

    async def forget_in_class(self, class_id: str, student_id: str) -> int:
        """The class's actor drops the student's error signals; how many it held."""
        found = await self._call(
            class_id, "ForgetStudent", json.dumps(student_id).encode(), CLASS_ACTOR_TYPE
        )
        return int(found["removed"])

    async def record_class_signals(self, class_id: str, payload_json: str) -> dict[str, Any]:
        """Error signals to a class's actor (see its interface for ``payload_json``)."""
        body = json.dumps(payload_json).encode()
        return await self._call(class_id, "RecordSignals", body, CLASS_ACTOR_TYPE)
