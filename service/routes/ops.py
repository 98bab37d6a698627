"""Operator views: actors and placement, a student's reminders."""

from typing import Any

import httpx
from fastapi import APIRouter

from actors.interface import ACTOR_TYPE
from service.auth import Admin
from service.deps import Actors, CurrentSettings, Placement, SidecarDep
from service.errors import NotFound, Unavailable
from service.routes.progress import StudentId
from service.schemas import OpsActors, Reminders, problem

router = APIRouter(prefix="/ops", tags=["ops"])


@router.get("/actors", response_model=OpsActors)
async def actors(
    _: Admin, sidecar: SidecarDep, placement_api: Placement, settings: CurrentSettings
) -> Any:
    """Actor types and active counts (daprd metadata) and the placement table (hosts and
    the actor types each serves, from the placement service)."""
    meta = await sidecar.metadata()
    placement = await leader_table(placement_api, placement_urls(settings.placement_metadata_url))
    hosts = [
        {
            "namespace": namespace,
            "address": host.get("name", ""),
            "app_id": host.get("id", ""),
            "actor_types": host.get("entities", []),
        }
        for namespace, table in (placement.get("tables") or {}).items()
        for host in table.get("hosts", [])
    ]
    return {
        "app_id": meta.get("id", ""),
        "runtime_version": meta.get("runtimeVersion", ""),
        "actor_types": [
            {"type": a["type"], "active_count": int(a.get("count", 0))}
            for a in meta.get("actors", [])
        ],
        "placement_hosts": hosts,
    }


def placement_urls(setting: str) -> list[str]:
    """``PROGRESS_PLACEMENT_METADATA_URL``: one URL, or several separated by commas."""
    return [url.strip() for url in setting.split(",") if url.strip()]


async def leader_table(client: httpx.AsyncClient, urls: list[str]) -> dict[str, Any]:
    """The placement table from the first URL that answers it. Only the placement
    leader serves its table (the others answer 500 "not a leader"), and with placement
    in HA the leader is any of its pods: list every pod's URL (docs/install.md)."""
    failures = []
    for url in urls:
        try:
            response = await client.get(url)
            response.raise_for_status()
            table: dict[str, Any] = response.json()
            return table
        except (httpx.HTTPError, ValueError) as exc:
            failures.append(f"{url}: {exc!r}")
    raise Unavailable("placement metadata unavailable: " + "; ".join(failures or ["no URL"]))


@router.get(
    "/students/{student_id}/reminders",
    response_model=Reminders,
    responses={404: problem("student never seen")},
)
async def reminders(student_id: StudentId, _: Admin, actors: Actors, sidecar: SidecarDep) -> Any:
    """The reminder the student's state expects (one wake-up for its time-based rules,
    with the deadlines it serves), checked against what the Dapr scheduler holds
    (``pending_in_scheduler``)."""
    expected = await actors.list_reminders(student_id)
    if not expected["found"]:
        raise NotFound(f"no events have been received for student {student_id!r}")
    out = []
    for reminder in expected["reminders"]:
        held = await sidecar.get_reminder(ACTOR_TYPE, student_id, reminder["name"])
        out.append(
            {
                "name": reminder["name"],
                "kind": reminder["kind"],
                "expected_due_at": reminder["due_at"],
                "pending_in_scheduler": held is not None,
                "scheduler": held,
                "deadlines": reminder["deadlines"],
            }
        )
    return {"student_id": student_id, "reminders": out}
