"""Operator views: actors and placement, a student's reminders, the intake's consumer
lag and dead letters."""

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query

from actors.interface import ACTOR_TYPE
from service.auth import Admin
from service.dapr.sidecar import Sidecar
from service.deps import Actors, CurrentSettings, Placement, SidecarDep
from service.errors import NotFound, Unavailable
from service.frontend.kafka_reader import KafkaUnavailable, read_intake
from service.frontend.routes.progress import StudentId
from service.host_report import ActorHostView
from service.ops_intake import broker_list, dead_letter, newest, topic_row
from service.schemas import OpsActors, OpsIntake, Reminders, problem
from service.settings import Settings

router = APIRouter(prefix="/ops", tags=["ops"])


@router.get("/actors", response_model=OpsActors)
async def actors(
    _: Admin, sidecar: SidecarDep, placement_api: Placement, settings: CurrentSettings
) -> Any:
    """Actor types and active counts (daprd metadata) and the placement table (hosts and
    the actor types each serves, from the placement service)."""
    meta = await ActorHostView(settings, sidecar).metadata()
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
        if "scheduler" in reminder:  # looked up by the actor host (service/actorhost)
            held = reminder["scheduler"]
        else:  # an actor host of an older version, in a rolling upgrade: as before
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


@router.get(
    "/intake",
    response_model=OpsIntake,
    responses={503: problem("the consumer group is not set and daprd did not name the app")},
)
async def intake(
    _: Admin,
    settings: CurrentSettings,
    sidecar: SidecarDep,
    last: Annotated[int, Query(ge=0, le=100, description="how many dead letters")] = 10,
) -> Any:
    """The intake as Kafka sees it: per inbound topic and the dead-letter topic, each
    partition's committed offset (the consumer group's), log end offset and lag; the
    dead-letter topic's total and its newest records; and the events this replica
    handled since it started. Read from the brokers directly (PROGRESS_KAFKA_BROKERS).
    Not configured, or brokers that do not answer within PROGRESS_KAFKA_TIMEOUT_S, are
    still 200: ``configured`` / ``reachable`` and ``error`` say so, and this replica's
    counts are there."""
    report: dict[str, Any] = {
        "configured": bool(broker_list(settings.kafka_brokers)),
        "brokers": broker_list(settings.kafka_brokers),
        "consumer_group": None,
        "reachable": None,
        "error": None,
        "topics": [],
        "dead_letters": None,
        "replica": None,
    }
    host = ActorHostView(settings, sidecar, settings.kafka_timeout_s)
    report["replica"] = await host.events()
    if not report["configured"]:
        report["error"] = "PROGRESS_KAFKA_BROKERS is not set"
        return report
    report["consumer_group"] = await consumer_group(settings, sidecar, host)
    report.update(await kafka_figures(settings, report["consumer_group"], last))
    return report


async def consumer_group(
    settings: Settings, sidecar: Sidecar, host: ActorHostView | None = None
) -> str:
    """PROGRESS_KAFKA_CONSUMER_GROUP, else the actor host's app id (daprd's metadata):
    the Kafka components' consumerGroup."""
    if settings.kafka_consumer_group:
        return settings.kafka_consumer_group
    host = host or ActorHostView(settings, sidecar, settings.kafka_timeout_s)
    app_id = str((await host.metadata()).get("id") or "")
    if not app_id:
        raise Unavailable("daprd did not name the app id; set PROGRESS_KAFKA_CONSUMER_GROUP")
    return app_id


async def kafka_figures(settings: Settings, group: str, last: int) -> dict[str, Any]:
    """reachable, error, topics and dead_letters of the report."""
    dead_topic = settings.deadletter_topic
    topics = [*settings.inbound_topics, dead_topic]
    try:
        reading = await read_intake(settings, group, topics, dead_topic, last)
    except KafkaUnavailable as exc:
        return {"reachable": False, "error": str(exc)}
    rows = [topic_row(t, "inbound", reading.offsets) for t in settings.inbound_topics]
    dead = topic_row(dead_topic, "dead_letter", reading.offsets)
    letters = newest((dead_letter(r) for r in reading.dead_letters), last)
    return {
        "reachable": True,
        "topics": [*rows, dead],
        "dead_letters": {"topic": dead_topic, "total": dead["records"], "latest": letters},
    }
