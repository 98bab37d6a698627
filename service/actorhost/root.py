"""The actor host's composition root: what it installs on the app (the SDK's actor
routes, the bulk subscriptions) and what it starts (the actors with their deps, the
intake, the rules in force, its periodic jobs)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import timedelta

from dapr.ext.fastapi import DaprActor
from fastapi import FastAPI

from actors.student_actor import ActorDeps
from service.actorhost.intake import Intake
from service.actorhost.outbound import Outbound
from service.dapr.actor_host import host_actors
from service.dapr.http_client import PooledActorClient
from service.dapr.subscriptions import install_subscriptions
from service.host_report import install_host_report
from service.periodic import every
from service.resources import Resources
from service.rulesets.live import RULES_REFRESH, LiveRules
from service.rulesets.notify import AppliedRulesListener
from service.settings import Settings

EVENT_LOG_PRUNE_PERIOD = timedelta(hours=1)
# how often the read model's rows of expired actor states are dropped
READ_MODEL_DROP_PERIOD = timedelta(hours=1)


def install(app: FastAPI, settings: Settings) -> DaprActor:
    """The SDK's actor routes (/dapr/config, /healthz, the actor callbacks daprd makes)
    and GET /dapr/subscribe."""
    dapr_actor = DaprActor(app)
    install_subscriptions(app, settings)
    install_host_report(app)
    return dapr_actor


async def start(
    app: FastAPI, resources: Resources, dapr_actor: DaprActor, stack: AsyncExitStack
) -> None:
    """Host the actors and take deliveries; stops with ``stack``."""
    settings = resources.settings
    outbound = Outbound(
        settings,
        resources.sidecar,
        resources.alerts,
        resources.projection,
        resources.rosters,
        resources.actors,
    )
    deps = ActorDeps(
        config=resources.config, outbound=outbound, state_ttl_s=settings.actor_state_ttl_s
    )
    live_rules = LiveRules(resources.rule_sets, resources.config, deps)
    await live_rules.refresh_once()  # the applied rule set, before any actor runs
    app.state.live_rules = live_rules  # the front end of the same process shares it
    app.state.intake = Intake(
        resources.actors,
        resources.sidecar,
        settings.deadletter_topic,
        settings.max_event_bytes,
        settings.actor_call_max_bytes,
        settings.intake_max_turns,
        resources.event_log,
    )
    # Blocks until daprd's outbound health endpoint answers (SDK behaviour).
    await host_actors(dapr_actor, PooledActorClient(resources.dapr_http), deps)
    projection = resources.projection
    listener = AppliedRulesListener(settings.database_url, live_rules.refresh_once)
    for job in (
        listener.run(),
        every(EVENT_LOG_PRUNE_PERIOD, resources.event_log.prune_once),
        every(RULES_REFRESH, live_rules.refresh_once),
        every(
            READ_MODEL_DROP_PERIOD, lambda: projection.drop_expired_once(settings.actor_state_ttl_s)
        ),
    ):
        task = asyncio.create_task(job)
        stack.callback(task.cancel)
