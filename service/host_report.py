"""What only the actor host knows, for the operators' views of a front end: its
daprd's metadata (app id, runtime version, the actor types it hosts with their active
counts) and this process's event counts. In one process (role ``all``) both are read
here; a front end (role ``api``) asks the actor host by Dapr service invocation
(``PROGRESS_ACTOR_HOST_APP_ID``), which answers from one of its replicas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import FastAPI

from service.dapr.sidecar import Sidecar
from service.ops_intake import event_counts
from service.settings import Settings

ROUTE = "/dapr/host-report"  # under /dapr/: only daprd (with the app token) reaches it


async def local_report(sidecar: Sidecar, timeout: float = 5.0) -> dict[str, Any]:
    meta = await sidecar.metadata(timeout)
    return {
        "metadata": {
            "id": meta.get("id", ""),
            "runtimeVersion": meta.get("runtimeVersion", ""),
            "actors": meta.get("actors", []),
        },
        "events": event_counts(),
    }


def _remote(settings: Settings) -> bool:
    return settings.role == "api" and bool(settings.actor_host_app_id)


async def _ask(settings: Settings, sidecar: Sidecar, timeout: float) -> dict[str, Any]:
    report: dict[str, Any] = await sidecar.invoke_json(
        settings.actor_host_app_id, ROUTE.lstrip("/"), timeout
    )
    return report


async def host_metadata(settings: Settings, sidecar: Sidecar, timeout: float = 5.0) -> Any:
    """The actor host's daprd metadata (``id``, ``runtimeVersion``, ``actors``)."""
    if _remote(settings):
        return (await _ask(settings, sidecar, timeout))["metadata"]
    return (await local_report(sidecar, timeout))["metadata"]


async def host_events(settings: Settings, sidecar: Sidecar, timeout: float = 5.0) -> Any:
    """The actor host's event counts (this process's when it hosts the intake)."""
    if _remote(settings):
        events = (await _ask(settings, sidecar, timeout))["events"]
        started = events.get("started_at")  # JSON carries it as text: a time again
        events["started_at"] = datetime.fromisoformat(started) if started else None
        return events
    return event_counts()


def install_host_report(app: FastAPI) -> None:
    """The actor host's side: serve the report to daprd."""

    @app.get(ROUTE, include_in_schema=False)
    async def report() -> dict[str, Any]:
        return await local_report(app.state.resources.sidecar)
