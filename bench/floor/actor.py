"""The floor's actor: per turn one actor-state transaction and one publish, nothing else.

Like the service's student actor it reads its state once when activated (so the key is
tracked and a turn writes without reading first), writes it with a TTL (the service's
``set_state_ttl`` + ``save_state``: one transaction through daprd) and publishes one
message keyed by the student to the result topic.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

from dapr.actor import Actor, ActorId, ActorInterface, actormethod
from dapr.actor.runtime.context import ActorRuntimeContext

ACTOR_TYPE = "FloorActor"
METHOD = "Apply"
STATE_KEY = "turn"


class Publisher(Protocol):
    async def publish(self, key: str, payload: bytes) -> None: ...


class FloorActorInterface(ActorInterface):
    @actormethod(name=METHOD)  # type: ignore[untyped-decorator]
    @abstractmethod
    async def apply(self, event_id: str) -> int: ...


def result_payload(event_id: str, student_id: str, turns: int) -> bytes:
    """The result message the driver reads back (and times) from the result topic."""
    return json.dumps(
        {"event_id": event_id, "student_id": student_id, "turns": turns}, separators=(",", ":")
    ).encode()


class FloorActor(Actor, FloorActorInterface):
    def __init__(
        self, ctx: ActorRuntimeContext, actor_id: ActorId, publisher: Publisher, ttl_s: int
    ) -> None:
        super().__init__(ctx, actor_id)
        self._publisher = publisher
        self._ttl_s = ttl_s
        self._turns = 0

    async def _on_activate(self) -> None:
        found, value = await self._state_manager.try_get_state(STATE_KEY)
        stored: dict[str, Any] = value if found and isinstance(value, dict) else {}
        self._turns = int(stored.get("turns", 0))

    async def apply(self, event_id: str) -> int:
        self._turns += 1
        state = {"event_id": event_id, "turns": self._turns}
        await self._state_manager.set_state_ttl(STATE_KEY, state, self._ttl_s)
        await self._state_manager.save_state()
        await self._publisher.publish(self.id.id, result_payload(event_id, self.id.id, self._turns))
        return self._turns


def actor_factory(
    publisher: Publisher, ttl_s: int
) -> Callable[[ActorRuntimeContext, ActorId], Actor]:
    def create(ctx: ActorRuntimeContext, actor_id: ActorId) -> Actor:
        return FloorActor(ctx, actor_id, publisher, ttl_s)

    return create
