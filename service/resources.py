"""What both roles build once at start-up and close at shutdown: the long-lived clients
and stores the routes, the intake and the actors use (``open_resources``; the roles'
composition roots, service/frontend/root.py and service/actorhost/root.py, add their
own parts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from actors.config import DomainConfig
from service.alerts.repository import AlertRepository
from service.alerts.stream import AlertBroadcaster
from service.dapr.actor_gateway import ActorGateway
from service.dapr.http_client import DaprHttp, PooledActorClient
from service.dapr.sidecar import Sidecar
from service.db import create_engine, create_read_pool, create_write_pool
from service.eventlog.log import EventLog
from service.readmodel.projection import ProgressProjection
from service.readmodel.views import ClassViews
from service.rosters.repository import RosterRepository
from service.rulesets.job_store import DryRunStore
from service.rulesets.jobs import DryRunJobs
from service.rulesets.repository import RuleSetRepository
from service.settings import Settings, domain_config


@dataclass(frozen=True)
class Resources:
    settings: Settings
    config: DomainConfig  # the settings' and the curriculum's, read once
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


async def open_resources(settings: Settings) -> Resources:
    # Two pools, or calls into actors starve the actors' own state writes (see
    # service/dapr/http_client.py).
    dapr_http = DaprHttp(settings, pool_size=settings.dapr_connection_pool)
    dapr_actor_calls = DaprHttp(settings)
    config = domain_config(settings)  # reads the curriculum file once
    engine = create_engine(settings)
    read_pool = await create_read_pool(settings)
    write_pool = await create_write_pool(settings)
    event_log = EventLog(write_pool, timedelta(days=settings.event_retention_days))
    return Resources(
        settings=settings,
        config=config,
        dapr_http=dapr_http,
        dapr_actor_calls=dapr_actor_calls,
        sidecar=Sidecar(settings, dapr_http),
        engine=engine,
        read_pool=read_pool,
        write_pool=write_pool,
        alerts=AlertRepository(engine),
        rosters=RosterRepository(engine),
        projection=ProgressProjection(write_pool),
        event_log=event_log,
        rule_sets=RuleSetRepository(engine),
        dry_runs=DryRunJobs(DryRunStore(engine), event_log, settings.dry_run_max_events),
        views=ClassViews(read_pool, config.inactivity_after),
        broadcaster=AlertBroadcaster(settings.database_url),
        actors=ActorGateway(PooledActorClient(dapr_actor_calls)),
        placement=httpx.AsyncClient(timeout=5.0),
    )
