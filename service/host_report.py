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


def _metadata(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": meta.get("id", ""),
        "runtimeVersion": meta.get("runtimeVersion", ""),
        "actors": meta.get("actors", []),
    }


async def local_report(sidecar: Sidecar, timeout: float = 5.0) -> dict[str, Any]:
    return {"metadata": _metadata(await sidecar.metadata(timeout)), "events": event_counts()}


class ActorHostView:
    """The actor host's figures for one request: a front end that names the actor host
    asks it once (one service invocation, however many figures are read); otherwise
    they are read here."""

    def __init__(self, settings: Settings, sidecar: Sidecar, timeout: float = 5.0) -> None:
        self._app_id = settings.actor_host_app_id if settings.role == "api" else ""
        self._sidecar = sidecar
        self._timeout = timeout
        self._report: dict[str, Any] | None = None

    async def _remote(self) -> dict[str, Any]:
        if self._report is None:
            self._report = await self._sidecar.invoke_json(
                self._app_id, ROUTE.lstrip("/"), self._timeout
            )
        return self._report

    async def metadata(self) -> Any:
        """The actor host's daprd metadata (``id``, ``runtimeVersion``, ``actors``)."""
        if self._app_id:
            return (await self._remote())["metadata"]
        return _metadata(await self._sidecar.metadata(self._timeout))

    async def events(self) -> Any:
        """The actor host's event counts (this process's when it hosts the intake)."""
        if not self._app_id:
            return event_counts()
        events = dict((await self._remote())["events"])
        started = events.get("started_at")  # JSON carries it as text: a time again
        events["started_at"] = datetime.fromisoformat(started) if started else None
        return events


def install_host_report(app: FastAPI) -> None:
    """The actor host's side: serve the report to daprd."""

    @app.get(ROUTE, include_in_schema=False)
    async def report() -> dict[str, Any]:
        return await local_report(app.state.resources.sidecar)
