"""The operators' page (``/console/ops``, admins only): what ``GET /ops/actors``,
``GET /ops/intake`` and ``GET /ops/students/{id}/reminders`` give, readable — actor
placement and active actors, consumer lag and dead letters, a student's reminders — with
the counts the service keeps itself (events since this replica started, open alerts by
kind). Each section is read through the API's own handler; one that fails (placement
down, a student never seen) says why in its place and the others still show."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN
from service.deps import Actors, Alerts, CurrentSettings, Placement, SidecarDep
from service.errors import ServiceError
from service.frontend.console.identity import ConsoleUserDep, require_admin
from service.frontend.console.rendering import PREFIX, render
from service.frontend.routes import ops

router = APIRouter(prefix=PREFIX, include_in_schema=False)

T = TypeVar("T")
DEAD_LETTERS_SHOWN = 10
StudentQuery = Annotated[
    str | None, Query(max_length=STUDENT_ID_MAX, pattern=f"{STUDENT_ID_PATTERN}|^$")
]


@dataclass(frozen=True)
class Section(Generic[T]):
    """A section's data, or why it is missing (the API's detail)."""

    data: T | None
    error: str | None = None


async def section(call: Awaitable[T]) -> Section[T]:
    try:
        return Section(await call)
    except ServiceError as exc:
        return Section(None, exc.detail)


async def nothing() -> None:
    return None


def plural(count: int | None, unit: str, units: str | None = None) -> str:
    """``1 event``, ``1,234 events``; a missing count is a dash."""
    if count is None:
        return "\u2014"
    word = unit if count == 1 else (units or unit + "s")
    return f"{count:,} {word}"


def ago(when: datetime | None, now: datetime) -> str:
    """How long ago, in the largest whole unit: ``just now``, ``5 s ago``, ``3 min ago``,
    ``2 h ago``, ``4 days ago``; ``in 2 min`` for a time still to come."""
    if when is None:
        return "\u2014"
    seconds = int((now - when).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 1:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min"), (1, "s")):
        if seconds >= size:
            amount = seconds // size
            text = plural(amount, unit) if unit == "day" else f"{amount} {unit}"
            return f"in {text}" if future else f"{text} ago"
    raise AssertionError("unreachable: seconds >= 1")


def timestamp(when: datetime | None) -> str:
    """``2026-12-10 09:41:02 UTC``."""
    if when is None:
        return "\u2014"
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_time(value: Any) -> datetime | None:
    """A time the API gives as a datetime or an ISO string (the scheduler's)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None  # shown as a dash
    return None


def lag_text(lag: int | None) -> str:
    """A partition's or topic's lag: records behind, or that the group has no commit."""
    return "no commit" if lag is None else plural(lag, "record")


@router.get("/ops")
async def ops_page(
    request: Request,
    user: ConsoleUserDep,
    settings: CurrentSettings,
    sidecar: SidecarDep,
    placement: Placement,
    actors: Actors,
    alerts: Alerts,
    student_id: StudentQuery = None,
) -> Response:
    require_admin(user)
    principal = user.principal
    wanted = student_id or None
    found = await asyncio.gather(
        section(ops.actors(principal, sidecar, placement, settings)),
        section(ops.intake(principal, settings, sidecar, DEAD_LETTERS_SHOWN)),
        section(alerts.open_by_kind()),
        section(ops.reminders(wanted, principal, actors, sidecar) if wanted else nothing()),
    )
    actor_view, intake_view, open_alerts, reminders = found
    return render(
        request,
        "ops.html",
        user,
        title="Operators",
        actors=actor_view,
        intake=intake_view,
        open_alerts=open_alerts,
        reminders=reminders,
        student_id=wanted,
        now=datetime.now(UTC),
        plural=plural,
        ago=ago,
        timestamp=timestamp,
        parse_time=parse_time,
        lag_text=lag_text,
        dead_letters_shown=DEAD_LETTERS_SHOWN,
        timeout_s=settings.kafka_timeout_s,
    )
