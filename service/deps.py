"""One typed FastAPI dependency per resource the lifespan built (service/resources.py).
Async functions: FastAPI runs plain functions in a thread pool."""

from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from service.actor_gateway import ActorGateway
from service.alert_store import AlertQueries, AlertStore
from service.alert_stream import AlertBroadcaster
from service.resources import Resources
from service.settings import Settings
from service.sidecar import Sidecar


def resources_of(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _actors(request: Request) -> ActorGateway:
    return resources_of(request).actors


async def _alerts(request: Request) -> AlertStore:
    return resources_of(request).alerts


async def _alert_queries(request: Request) -> AlertQueries:
    return resources_of(request).alert_queries


async def _broadcaster(request: Request) -> AlertBroadcaster:
    return resources_of(request).broadcaster


async def _sidecar(request: Request) -> Sidecar:
    return resources_of(request).sidecar


async def _engine(request: Request) -> AsyncEngine:
    return resources_of(request).engine


async def _placement(request: Request) -> httpx.AsyncClient:
    return resources_of(request).placement


CurrentSettings = Annotated[Settings, Depends(_settings)]
Actors = Annotated[ActorGateway, Depends(_actors)]
Alerts = Annotated[AlertStore, Depends(_alerts)]
AlertQueriesDep = Annotated[AlertQueries, Depends(_alert_queries)]
Broadcaster = Annotated[AlertBroadcaster, Depends(_broadcaster)]
SidecarDep = Annotated[Sidecar, Depends(_sidecar)]
Engine = Annotated[AsyncEngine, Depends(_engine)]
Placement = Annotated[httpx.AsyncClient, Depends(_placement)]
