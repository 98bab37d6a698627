"""GET /health, GET /ready and GET /metrics: for probes, operators and Prometheus, no
token. (GET /healthz, the liveness probe, is the Dapr SDK's: the process answers.)"""

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.deps import Alerts, CurrentSettings, Engine, SidecarDep
from service.health import check_health, check_readiness
from service.metrics import ALERTS_OPEN

router = APIRouter(tags=["ops"])


@router.get("/health", responses={503: {"description": "a dependency is down"}})
async def health(settings: CurrentSettings, sidecar: SidecarDep, engine: Engine) -> JSONResponse:
    """Per-dependency checks (Dapr sidecar, Kafka through the pub/sub component,
    PostgreSQL); 503 naming what is down."""
    report = await check_health(settings, sidecar, engine)
    return JSONResponse(report, status_code=200 if report["status"] == "up" else 503)


@router.get(
    "/ready",
    responses={503: {"description": "the Dapr sidecar or PostgreSQL is down"}},
)
async def ready(settings: CurrentSettings, sidecar: SidecarDep, engine: Engine) -> JSONResponse:
    """Readiness (the Kubernetes readiness probe): can this replica answer the read API?
    Checks the Dapr sidecar (the student's actor answers GET /progress) and PostgreSQL
    (views, alerts, rosters); 503 naming what is down. Kafka is not checked: a Kafka
    outage delays the intake but must not take the read API out of service."""
    report = await check_readiness(settings, sidecar, engine)
    return JSONResponse(report, status_code=200 if report["status"] == "up" else 503)


@router.get("/metrics", response_class=Response)
async def metrics(alerts: Alerts) -> Response:
    """Prometheus metrics (text exposition format)."""
    for kind, count in (await alerts.open_by_kind()).items():
        ALERTS_OPEN.labels(kind=kind).set(count)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
