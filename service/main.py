"""The FastAPI application: Dapr actor host, pub/sub subscriber and the HTTP API.

Run with ``uvicorn service.main:app``; daprd must be started alongside (see runtime/).
"""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import structlog
from dapr.ext.fastapi import DaprActor
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from actors.config import DomainConfig
from actors.student_actor import ActorDeps
from service import settings_check
from service.alerts.repository import AlertRepository
from service.alerts.stream import AlertBroadcaster
from service.auth import TokenVerifier
from service.console.app import install_console
from service.cors import ListedOriginsCORS
from service.dapr.actor_gateway import ActorGateway
from service.dapr.actor_host import host_actors
from service.dapr.app_token import DAPR_PREFIXES, DaprTokenMiddleware
from service.dapr.callbacks import DaprCallbacks
from service.dapr.http_client import DaprHttp, PooledActorClient
from service.dapr.sidecar import Sidecar
from service.dapr.subscriptions import install_subscriptions
from service.db import create_engine, create_read_pool, create_write_pool
from service.digests.scheduler import Digests
from service.digests.store import DigestStore
from service.eventlog.log import EventLog
from service.intake import Intake
from service.log_config import configure_logging
from service.middleware import BodyLimitMiddleware
from service.operation_ids import operation_id
from service.outbound import Outbound
from service.periodic import every
from service.problems import install_problem_handlers
from service.readmodel.projection import ProgressProjection
from service.readmodel.views import ClassViews
from service.request_context import RequestContextMiddleware
from service.resources import Resources
from service.rosters.repository import RosterRepository
from service.routes import (
    classes,
    digests,
    health,
    ops,
    problem_types,
    progress,
    rules,
    struggles,
    students,
)
from service.rulesets.job_store import DryRunStore
from service.rulesets.jobs import DryRunJobs
from service.rulesets.live import LiveRules
from service.rulesets.repository import RuleSetRepository
from service.schemas import API_ERRORS
from service.settings import Settings, domain_config, get_settings
from service.stream_tickets import SessionReader, TicketSigner
from service.xapi import routes as xapi_routes
from service.xapi.http_headers import XapiHeaders
from service.xapi.mapping import load_mapping
from service.xapi.producers import Producers
from service.xapi.statements import StatementIntake

API_VERSION = "1.0.0"
EVENT_LOG_PRUNE_PERIOD = timedelta(hours=1)
# how often the read model's rows of expired actor states are dropped
READ_MODEL_DROP_PERIOD = timedelta(hours=1)
RULES_REFRESH = timedelta(seconds=10)  # how soon another replica's apply holds here


def _actor_deps(settings: Settings, config: DomainConfig, outbound: Outbound) -> ActorDeps:
    return ActorDeps(config=config, outbound=outbound, state_ttl_s=settings.actor_state_ttl_s)


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
    xapi_mapping = load_mapping(settings.xapi_mapping_file)  # a wrong file stops the start

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Two pools, or calls into actors starve the actors' own state writes (see
        # service/dapr/http_client.py).
        dapr_http = DaprHttp(settings, pool_size=settings.dapr_connection_pool)
        dapr_actor_calls = DaprHttp(settings)
        sidecar = Sidecar(settings, dapr_http)
        config = domain_config(settings)  # reads the curriculum file once
        engine = create_engine(settings)
        read_pool = await create_read_pool(settings)
        write_pool = await create_write_pool(settings)
        alerts = AlertRepository(engine)
        projection = ProgressProjection(write_pool)
        actors = ActorGateway(PooledActorClient(dapr_actor_calls))
        rosters = RosterRepository(engine)
        event_log = EventLog(write_pool, timedelta(days=settings.event_retention_days))
        rule_sets = RuleSetRepository(engine)
        resources = Resources(
            dapr_http=dapr_http,
            dapr_actor_calls=dapr_actor_calls,
            sidecar=sidecar,
            engine=engine,
            read_pool=read_pool,
            write_pool=write_pool,
            alerts=alerts,
            rosters=rosters,
            projection=projection,
            event_log=event_log,
            rule_sets=rule_sets,
            dry_runs=DryRunJobs(DryRunStore(engine), event_log, settings.dry_run_max_events),
            views=ClassViews(read_pool, config.inactivity_after),
            broadcaster=AlertBroadcaster(settings.database_url),
            actors=actors,
            intake=Intake(
                actors,
                sidecar,
                settings.deadletter_topic,
                settings.max_event_bytes,
                settings.actor_call_max_bytes,
                settings.intake_max_turns,
                event_log,
            ),
            placement=httpx.AsyncClient(timeout=5.0),
        )
        app.state.resources = resources  # settings and verifier are set in create_app
        actor_client = PooledActorClient(dapr_http)
        outbound = Outbound(settings, sidecar, alerts, projection, rosters, actors)
        deps = _actor_deps(settings, config, outbound)
        live_rules = LiveRules(rule_sets, config, deps)
        await live_rules.refresh_once()  # the applied rule set, before any actor runs
        app.state.live_rules = live_rules
        webhooks = httpx.AsyncClient(timeout=settings.digest_send_timeout_s)
        teacher_digests = Digests(DigestStore(engine), settings, config.inactivity_after, webhooks)
        app.state.digests = teacher_digests
        app.state.xapi_producers = Producers(write_pool)
        app.state.xapi_intake = StatementIntake(
            write_pool,
            sidecar,
            xapi_mapping,
            {
                "learning": settings.learning_topic,
                "exercise": settings.exercise_topic,
                "code": settings.code_topic,
            },
        )
        # Blocks until daprd's outbound health endpoint answers (SDK behaviour).
        await host_actors(dapr_actor, actor_client, deps)
        pruning = asyncio.create_task(every(EVENT_LOG_PRUNE_PERIOD, event_log.prune_once))
        pruning_dry_runs = asyncio.create_task(
            every(EVENT_LOG_PRUNE_PERIOD, resources.dry_runs.prune_once)
        )
        refreshing = asyncio.create_task(every(RULES_REFRESH, live_rules.refresh_once))
        dropping_expired = asyncio.create_task(
            every(
                READ_MODEL_DROP_PERIOD,
                lambda: projection.drop_expired_once(settings.actor_state_ttl_s),
            )
        )
        sending_digests = asyncio.create_task(
            every(timedelta(seconds=settings.digest_tick_s), teacher_digests.tick_once)
        )
        try:
            yield
        finally:
            sending_digests.cancel()
            pruning.cancel()
            pruning_dry_runs.cancel()
            refreshing.cancel()
            dropping_expired.cancel()
            await webhooks.aclose()
            await resources.aclose()

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
    # the request has neither a bearer token nor a ticket (service/stream_tickets.py).
    session_reader: SessionReader | None = None
    app.state.session_reader = session_reader
    install_problem_handlers(app)
    install_console(app, settings)  # sets the session hook and the console's error pages
    dapr_actor = DaprActor(app)
    install_subscriptions(app, settings)
    for module in (progress, struggles, classes, rules, students, ops, digests):
        app.include_router(module.router, responses=API_ERRORS)
    app.include_router(xapi_routes.router, responses=API_ERRORS)
    app.include_router(xapi_routes.public_router)
    app.include_router(health.router)
    app.include_router(problem_types.router)
    app.include_router(digests.public_router)

    app.openapi = lambda: _public_openapi(app)  # type: ignore[method-assign]
    token = settings.app_api_token.get_secret_value() if settings.app_api_token else None
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_request_bytes,
        larger={
            "/rosters/oneroster": settings.max_roster_bundle_bytes,
            "/xapi/statements": settings.xapi_max_body_bytes,
        },
    )
    app.add_middleware(XapiHeaders)  # outside the body limit: its 413 gets them too
    app.add_middleware(DaprTokenMiddleware, token=token)
    app.add_middleware(RequestContextMiddleware)  # sees every response but the two below
    app.add_middleware(DaprCallbacks, token=token)  # actor method calls, bulk deliveries
    if settings.cors_origins:  # outermost: preflights and errors carry the CORS headers
        app.add_middleware(ListedOriginsCORS, origins=settings.cors_origins)
    return app


app = create_app()
