"""Struggle alerts for teachers: list with filters and cursor pages, lifecycle."""

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query
from fastapi.responses import StreamingResponse

from actors.vocabulary import (
    STUDENT_ID_MAX,
    STUDENT_ID_PATTERN,
    AlertKind,
    AlertStatus,
)
from service.alerts.repository import AlertFilter, Cursor
from service.alerts.schemas import Alert, AlertPage, ResolveRequest
from service.auth import Staff
from service.deps import Alerts, Broadcaster, CurrentSettings, Rosters
from service.errors import InvalidInput, NotFound, UnknownReference
from service.rosters.repository import RosterRepository
from service.rosters.scope import Scope
from service.routes.params import parse_since
from service.schemas import problem

router = APIRouter(tags=["struggles"])
STUDENT_ID = re.compile(STUDENT_ID_PATTERN)
Kind = AlertKind
Status = AlertStatus


ClassFilter = Annotated[
    str | None,
    Query(
        description="only the alerts of this class: of its students, and about the class",
        max_length=STUDENT_ID_MAX,
        pattern=STUDENT_ID_PATTERN,
    ),
]


async def _check_class(rosters: RosterRepository, scope: Scope, class_id: str | None) -> None:
    """404 for a class that does not exist or that the caller does not reach (a teacher:
    does not teach), so class ids cannot be probed."""
    if class_id is not None and not await rosters.reaches_class(scope, class_id):
        raise NotFound(f"no class {class_id!r}")


@router.get("/struggles", response_model=AlertPage, responses={404: problem("no such class")})
async def list_struggles(
    principal: Staff,
    alerts: Alerts,
    rosters: Rosters,
    class_id: ClassFilter = None,
    status: Status | None = None,
    kind: Kind | None = None,
    student_id: Annotated[
        list[str] | None,
        Query(description="one or several (repeat the parameter)", max_length=50),
    ] = None,
    topic_id: Annotated[str | None, Query(max_length=128, pattern=r"^[^\x00]+$")] = None,
    since: Annotated[
        str | None,
        Query(
            description="detected at or after (RFC 3339 with offset)",
            json_schema_extra={"format": "date-time"},
            max_length=64,
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Alerts of the students the caller reaches (a teacher: the students of the classes
    they teach; an admin: all), newest first (by detected_at, then id)."""
    scope = Scope.of(principal)
    await _check_class(rosters, scope, class_id)
    since_at = parse_since(since) if since is not None else None
    bad_ids = [s for s in student_id or () if len(s) > STUDENT_ID_MAX or not STUDENT_ID.match(s)]
    if bad_ids:
        raise InvalidInput(f"student_id: {bad_ids[0]!r} is not a valid student id")
    position = None
    if cursor:
        try:
            position = Cursor.decode(cursor)
        except ValueError as exc:
            raise UnknownReference(str(exc)) from exc
    filters = AlertFilter(
        scope=scope,
        class_id=class_id,
        status=status,
        kind=kind,
        student_ids=tuple(student_id or ()),
        topic_id=topic_id,
        since=since_at,
    )
    rows, next_cursor = await alerts.page(filters, position, limit)
    return {"items": rows, "next_cursor": next_cursor.encode() if next_cursor else None}


@router.post(
    "/struggles/{alert_id}/acknowledge",
    response_model=Alert,
    responses={404: problem("no such alert"), 409: problem("the alert is resolved")},
)
async def acknowledge(alert_id: uuid.UUID, principal: Staff, alerts: Alerts) -> Any:
    """open -> acknowledged (idempotent). 409 for a resolved alert; 404 for an alert of a
    student the caller does not reach."""
    return await alerts.acknowledge(alert_id, principal.subject, Scope.of(principal))


@router.post(
    "/struggles/{alert_id}/resolve",
    response_model=Alert,
    responses={404: problem("no such alert")},
)
async def resolve(
    alert_id: uuid.UUID,
    principal: Staff,
    alerts: Alerts,
    body: Annotated[ResolveRequest | None, Body()] = None,
) -> Any:
    """open or acknowledged -> resolved, with a reason (idempotent); 404 for an alert of
    a student the caller does not reach."""
    reason = (body or ResolveRequest()).reason
    return await alerts.resolve(alert_id, principal.subject, reason, Scope.of(principal))


@router.get(
    "/struggles/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "SSE stream"},
        404: problem("no such class"),
    },
)
async def stream(
    principal: Staff,
    alerts: Alerts,
    rosters: Rosters,
    broadcaster: Broadcaster,
    settings: CurrentSettings,
    class_id: ClassFilter = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-Sent Events: every new alert the caller reaches (with ``class_id``: of
    that class only, as the list filters), as it is raised (``event: struggle``, ``id`` =
    the alert's sequence number), heartbeat comments in between; the caller's reach and
    the class's roster are read with each alert, so roster changes apply to an open
    stream. Reconnect with ``Last-Event-ID`` to receive what was raised meanwhile."""
    scope = Scope.of(principal)
    await _check_class(rosters, scope, class_id)
    last_seq = None
    if last_event_id is not None:
        if not last_event_id.isdigit():
            raise UnknownReference("Last-Event-ID must be an id this stream sent")
        last_seq = int(last_event_id)
    # fixed before the response starts (not in the generator, which runs after the
    # headers went out): an alert raised right after the client saw them is not skipped
    position = await alerts.latest_seq() if last_seq is None else last_seq
    frames = broadcaster.events(alerts, position, settings.sse_heartbeat_s, scope, class_id)
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
