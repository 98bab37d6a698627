"""The actor types this process hosts, registered with the SDK's actor runtime (daprd
learns them from /dapr/config, served by the SDK's FastAPI routes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dapr.actor.runtime.config import ActorRuntimeConfig
from dapr.actor.runtime.runtime import ActorRuntime
from dapr.ext.fastapi import DaprActor
from dapr.serializers import DefaultJSONSerializer

from actors.class_actor import ClassProgressActor, class_actor_factory
from actors.student_actor import ActorDeps, StudentProgressActor, actor_factory
from service.dapr.http_client import PooledActorClient


class BodyAsBytes(DefaultJSONSerializer):
    """The SDK's serializer of actor calls, except that a method whose argument is
    annotated ``bytes`` gets the request body as it came, undecoded (the SDK's own
    decoder scans JSON in pure Python and turns date-like strings into datetimes:
    ``ApplyEventBatch`` decodes its body itself, once; actors/event_batch.py)."""

    def deserialize(
        self,
        data: bytes,
        data_type: type | None = object,
        custom_hook: Callable[[bytes], object] | None = None,
    ) -> Any:
        if data_type is bytes:  # an annotation, not text: actors/interface.py
            return data
        return super().deserialize(data, data_type, custom_hook)


async def host_actors(
    dapr_actor: DaprActor, actor_client: PooledActorClient, deps: ActorDeps
) -> None:
    """Register StudentProgressActor and ClassProgressActor, built with ``deps``, their
    state and reminder calls made over ``actor_client``. Blocks until daprd's outbound
    health endpoint answers (SDK behaviour)."""
    ActorRuntime.set_actor_config(ActorRuntimeConfig())
    await dapr_actor.register_actor(
        StudentProgressActor,
        message_serializer=BodyAsBytes(),
        actor_client=actor_client,
        actor_factory=actor_factory(deps),
    )
    await dapr_actor.register_actor(
        ClassProgressActor, actor_client=actor_client, actor_factory=class_actor_factory(deps)
    )
