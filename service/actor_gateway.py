"""Calls into StudentProgressActor through daprd (the SDK's ActorProxy)."""

from __future__ import annotations

from typing import Any, cast

from dapr.actor import ActorId, ActorProxy, ActorProxyFactory

from actors.interface import ACTOR_TYPE, StudentProgressActorInterface


class ActorGateway:
    def __init__(self) -> None:
        self._factory = ActorProxyFactory()

    def _proxy(self, student_id: str) -> Any:
        return ActorProxy.create(
            ACTOR_TYPE, ActorId(student_id), StudentProgressActorInterface, self._factory
        )

    async def apply_event(self, student_id: str, envelope: dict[str, Any]) -> dict[str, Any]:
        return cast(dict[str, Any], await self._proxy(student_id).ApplyEvent(envelope))

    async def list_reminders(self, student_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self._proxy(student_id).ListReminders())

    async def erase(self, student_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self._proxy(student_id).Erase())

    async def get_progress(self, student_id: str) -> dict[str, Any]:

        return cast(dict[str, Any], await self._proxy(student_id).GetProgress())
