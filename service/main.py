"""The FastAPI application: Dapr actor host, pub/sub subscriber and the HTTP API.

Run with ``uvicorn service.main:app``; daprd must be started alongside (see runtime/).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from dapr.actor.runtime.config import ActorRuntimeConfig
from dapr.actor.runtime.runtime import ActorRuntime
from dapr.ext.fastapi import DaprActor, DaprApp
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from actors.student_actor import StudentProgressActor
from service.actor_gateway import ActorGateway
from service.alert_store import AlertStore
from service.db import create_engine
from service.health import check_health
from service.intake import Delivery, handle_delivery
from service.log_config import configure_logging
from service.outbound import Outbound
from service.problems import ProblemError, install_problem_handlers
from service.settings import Settings, domain_config, get_settings
from service.sidecar import Sidecar


def _app_state(request: Request) -> Any:
    return request.app.state


# The lifespan puts the sidecar client, DB engine and actor gateway on app.state.
AppState = Annotated[Any, Depends(_app_state)]


def _configure_actor(settings: Settings, outbound: Outbound) -> None:
    StudentProgressActor.domain_config = domain_config(settings)
    StudentProgressActor.state_ttl_s = settings.actor_state_ttl_s
    StudentProgressActor.outbound = outbound
    ActorRuntime.set_actor_config(ActorRuntimeConfig())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.sidecar = Sidecar(settings)
        app.state.engine = create_engine(settings)
        app.state.alerts = AlertStore(app.state.engine)
        app.state.actors = ActorGateway()
        _configure_actor(settings, Outbound(settings, app.state.sidecar, app.state.alerts))
        # Blocks until daprd's outbound health endpoint answers (SDK behaviour).
        await dapr_actor.register_actor(StudentProgressActor)
        try:
            yield
        finally:
            await app.state.sidecar.aclose()
            await app.state.engine.dispose()

    app = FastAPI(
        title="Progress Service",
        version="0.1.0",
        summary="Topic mastery and struggle alerts from student learning events.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    dapr_actor = DaprActor(app)
    dapr_app = DaprApp(app)

    for topic in settings.inbound_topics:

        async def on_event(request: Request, app_state: AppState, _topic: str = topic) -> Any:
            delivery = Delivery(topic=_topic, body=await request.body())
            return await handle_delivery(
                delivery,
                app_state.actors,
                app_state.sidecar,
                settings.deadletter_topic,
                settings.max_event_bytes,
            )

        dapr_app.subscribe(
            pubsub=settings.pubsub_name,
            topic=topic,
            route=f"/events/{topic}",
            dead_letter_topic=settings.deadletter_topic,
        )(on_event)

    @app.get("/health", tags=["ops"])
    async def health(app_state: AppState) -> JSONResponse:
        """Per-dependency checks; 503 naming what is down."""
        report = await check_health(settings, app_state.sidecar, app_state.engine)
        return JSONResponse(report, status_code=200 if report["status"] == "up" else 503)

    @app.get("/progress/{student_id}", tags=["teachers"])
    async def progress(student_id: str, app_state: AppState) -> dict[str, Any]:
        """Mastery per topic with components, overall, streak and last activity."""
        result = await app_state.actors.get_progress(student_id)
        if not result.get("found"):
            raise ProblemError(404, f"no events have been received for student {student_id!r}")
        view: dict[str, Any] = result["progress"]
        view["open_struggles"] = await app_state.alerts.open_count(student_id)
        return view

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


app = create_app()
