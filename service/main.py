"""The FastAPI application of a role (``PROGRESS_ROLE``): ``all`` (the default: one
process hosts both), ``api`` (the front end: service/frontend/root.py) or ``actors``
(the actor host: service/actorhost/root.py). This module puts together what every role
has: settings, logging, the shared resources (service/resources.py), health and metrics,
the problem documents and the Dapr-facing middleware.

Run with ``uvicorn service.main:app``; daprd must be started alongside (see runtime/).
"""

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Response
from fastapi.openapi.utils import get_openapi

from service import probe_routes, problem_routes, settings_check
from service.actorhost import root as actor_host
from service.auth import TokenVerifier
from service.dapr.app_token import DAPR_PREFIXES, DaprTokenMiddleware
from service.dapr.callbacks import DaprCallbacks
from service.frontend import root as front_end
from service.frontend.cors import ListedOriginsCORS
from service.frontend.stream_tickets import SessionReader, TicketSigner
from service.log_config import configure_logging
from service.operation_ids import operation_id
from service.problems import install_problem_handlers
from service.request_context import RequestContextMiddleware
from service.resources import open_resources
from service.settings import Settings, get_settings

API_VERSION = "1.0.0"


def _public_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of the public API: Dapr-facing routes are left out (only
    daprd calls them, with its app token)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        schema["paths"] = {
            path: spec
            for path, spec in schema["paths"].items()
            if not path.startswith(DAPR_PREFIXES) and path not in ("/healthz", "/dapr/config")
        }
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    settings_check.report(os.environ, structlog.get_logger("settings"))
    serves_api = settings.role in ("all", "api")
    hosts_actors = settings.role in ("all", "actors")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            resources = await open_resources(settings)
            stack.push_async_callback(resources.aclose)
            app.state.resources = resources  # settings and verifier are set in create_app
            if dapr_actor is not None:  # first: a front end in this process shares its rules
                await actor_host.start(app, resources, dapr_actor, stack)
            if xapi_mapping is not None:
                await front_end.start(app, resources, xapi_mapping, stack)
            structlog.get_logger("app").info("role_started", role=settings.role)
            yield

    app = FastAPI(
        title="Progress Service",
        version=API_VERSION,
        summary="Topic mastery and struggle alerts from student learning events.",
        description=(
            "Every route that lists the `bearerAuth` security scheme needs "
            "`Authorization: Bearer <JWT>` with a `role` claim of teacher, admin or "
            "student; /health, /ready, /metrics and /problems/{kind} need none. Errors are "
            "application/problem+json whose `type` names the kind of error "
            "(docs/api.md, 'Errors')."
        ),
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.stream_tickets = TicketSigner.from_settings(settings)
    # The hook for a session cookie (the console's sign-in): an async function of the
    # request giving the signed-in Principal or None; GET /struggles/stream asks it when
    # the request has neither a bearer token nor a ticket (service/frontend/stream_tickets.py).
    session_reader: SessionReader | None = None
    app.state.session_reader = session_reader
    install_problem_handlers(app)
    xapi_mapping = front_end.install(app, settings) if serves_api else None
    dapr_actor = actor_host.install(app, settings) if hosts_actors else None
    if dapr_actor is None:

        @app.get("/healthz", include_in_schema=False)
        async def liveness() -> Response:
            """daprd's app health check (the actor host's is the SDK's route)."""
            return Response(status_code=200)

    app.include_router(probe_routes.router)
    app.include_router(problem_routes.router)

    app.openapi = lambda: _public_openapi(app)  # type: ignore[method-assign]
    token = settings.app_api_token.get_secret_value() if settings.app_api_token else None
    app.add_middleware(DaprTokenMiddleware, token=token)
    app.add_middleware(RequestContextMiddleware)  # sees every response but the two below
    if hosts_actors:
        app.add_middleware(DaprCallbacks, token=token)  # actor method calls, bulk deliveries
    if serves_api and settings.cors_origins:  # outermost: preflights and errors get CORS
        app.add_middleware(ListedOriginsCORS, origins=settings.cors_origins)
    return app


app = create_app()
