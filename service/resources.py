"""What the lifespan builds once and closes at shutdown: the long-lived clients and
stores the routes, the intake and the actors use (service/main.py builds it)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from service.alerts.repository import AlertRepository
from service.alerts.stream import AlertBroadcaster
from service.dapr.actor_gateway import ActorGateway
from service.dapr.http_client import DaprHttp
from service.dapr.sidecar import Sidecar
from service.eventlog.log import EventLog
from service.intake import Intake
from service.readmodel.projection import ProgressProjection
from service.readmodel.views import ClassViews
from service.rosters.repository import RosterRepository
from service.rulesets.jobs import DryRunJobs
from service.rulesets.repository import RuleSetRepository


@dataclass(frozen=True)
class Resources:
    dapr_http: DaprHttp  # the actor runtime's state/reminder calls, publishes, health
    dapr_actor_calls: DaprHttp  # calls into actors (its own pool: service/dapr/http_client.py)
    sidecar: Sidecar
    engine: AsyncEngine
    read_pool: asyncpg.Pool  # the class views' connections (service/db.py)
    write_pool: asyncpg.Pool  # the event log's and the read model's (service/db.py)
    alerts: AlertRepository
    rosters: RosterRepository
    projection: ProgressProjection
    event_log: EventLog
    rule_sets: RuleSetRepository
    dry_runs: DryRunJobs  # background dry runs started here
    views: ClassViews
    broadcaster: AlertBroadcaster
    actors: ActorGateway
    intake: Intake
    placement: httpx.AsyncClient  # the placement service's metadata API

    async def aclose(self) -> None:
        await self.dry_runs.aclose()  # marks what runs here failed, while the engine is up
        await self.broadcaster.close()
        await self.placement.aclose()
        await self.dapr_http.aclose()
        await self.dapr_actor_calls.aclose()
        await self.engine.dispose()
        await self.read_pool.close()
        await self.write_pool.close()
