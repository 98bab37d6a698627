"""One typed FastAPI dependency per resource the lifespan built (service/resources.py).
Async functions: FastAPI runs plain functions in a thread pool."""

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from service.alerts.repository import AlertRepository
from service.alerts.stream import AlertBroadcaster
from service.dapr.actor_gateway import ActorGateway
from service.dapr.sidecar import Sidecar
from service.eventlog.log import EventLog
from service.readmodel.projection import ProgressProjection
from service.readmodel.views import ClassViews
from service.resources import Resources
from service.rosters.repository import RosterRepository
from service.rulesets.jobs import DryRunJobs
from service.rulesets.live import LiveRules
from service.rulesets.repository import RuleSetRepository
from service.settings import Settings

T = TypeVar("T")


def resources_of(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _picked(pick: Callable[[Resources], T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency returning one resource."""

    async def dependency(request: Request) -> T:
        return pick(resources_of(request))

    return dependency


CurrentSettings = Annotated[Settings, Depends(_settings)]
Actors = Annotated[ActorGateway, Depends(_picked(lambda r: r.actors))]
Alerts = Annotated[AlertRepository, Depends(_picked(lambda r: r.alerts))]
Projection = Annotated[ProgressProjection, Depends(_picked(lambda r: r.projection))]
EventLogDep = Annotated[EventLog, Depends(_picked(lambda r: r.event_log))]
RuleSets = Annotated[RuleSetRepository, Depends(_picked(lambda r: r.rule_sets))]
DryRuns = Annotated[DryRunJobs, Depends(_picked(lambda r: r.dry_runs))]


async def _live_rules(request: Request) -> LiveRules:
    live: LiveRules = request.app.state.live_rules
    return live


Live = Annotated[LiveRules, Depends(_live_rules)]
Views = Annotated[ClassViews, Depends(_picked(lambda r: r.views))]
Rosters = Annotated[RosterRepository, Depends(_picked(lambda r: r.rosters))]
Broadcaster = Annotated[AlertBroadcaster, Depends(_picked(lambda r: r.broadcaster))]
SidecarDep = Annotated[Sidecar, Depends(_picked(lambda r: r.sidecar))]
Engine = Annotated[AsyncEngine, Depends(_picked(lambda r: r.engine))]
Placement = Annotated[httpx.AsyncClient, Depends(_picked(lambda r: r.placement))]
