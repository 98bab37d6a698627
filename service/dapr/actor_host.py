"""The actor types this process hosts, registered with the SDK's actor runtime (daprd
learns them from /dapr/config, served by the SDK's FastAPI routes)."""

from __future__ import annotations

from dapr.actor.runtime.config import ActorRuntimeConfig
from dapr.actor.runtime.runtime import ActorRuntime
from dapr.ext.fastapi import DaprActor

from actors.class_actor import ClassProgressActor, class_actor_factory
from actors.student_actor import ActorDeps, StudentProgressActor, actor_factory
from service.dapr.http_client import PooledActorClient


async def host_actors(
    dapr_actor: DaprActor, actor_client: PooledActorClient, deps: ActorDeps
) -> None:
    """Register StudentProgressActor and ClassProgressActor, built with ``deps``, their
    state and reminder calls made over ``actor_client``. Blocks until daprd's outbound
    health endpoint answers (SDK behaviour)."""
    ActorRuntime.set_actor_config(ActorRuntimeConfig())
    await dapr_actor.register_actor(
        StudentProgressActor, actor_client=actor_client, actor_factory=actor_factory(deps)
    )
    await dapr_actor.register_actor(
        ClassProgressActor, actor_client=actor_client, actor_factory=class_actor_factory(deps)
    )
