"""Request-scoped access to what the lifespan created (clients, engine, gateways)."""

from typing import Annotated, Any

from fastapi import Depends, Request

from service.settings import Settings


def _app_state(request: Request) -> Any:
    return request.app.state


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# The lifespan puts the sidecar client, DB engine, alert store/queries, the actor gateway
# and the token verifier on app.state.
AppState = Annotated[Any, Depends(_app_state)]
CurrentSettings = Annotated[Settings, Depends(_settings)]
