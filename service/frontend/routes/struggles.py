"""Struggle alerts for teachers: list with filters and cursor pages, one alert, lifecycle,
the live stream and its tickets."""

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import StreamingResponse

from actors.vocabulary import (
    STUDENT_ID_MAX,
    STUDENT_ID_PATTERN,
    AlertKind,
    AlertStatus,
)
from service.alerts.repository import AlertFilter, Cursor
from service.alerts.schemas import (
    Alert,
    AlertPage,
    ResolveRequest,
    StreamTicket,
    StreamTicketRequest,
)
from service.alerts.stream import FRAME_FORMAT
from service.auth import Staff
from service.deps import Alerts, Broadcaster, CurrentSettings, Rosters
from service.errors import Forbidden, InvalidInput, NotFound, UnknownReference
from service.frontend.routes.params import parse_since
from service.frontend.stream_tickets import StreamCallerDep, TicketSigner
from service.rosters.repository import RosterRepository
from service.rosters.scope import Scope
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
    updated_since: Annotated[
        str | None,
        Query(
            description="changed at or after (RFC 3339 with offset): raised, acknowledged "
            "or resolved then (the alert's updated_at)",
            json_schema_extra={"format": "date-time"},
            max_length=64,
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """Alerts of the students the caller reaches (a teacher: the students of the classes
    they teach; an admin: all), newest first (by detected_at, then id). With
    ``updated_since``: only those raised, acknowledged or resolved since then."""
    scope = Scope.of(principal)
    await _check_class(rosters, scope, class_id)
    since_at = parse_since(since) if since is not None else None
    updated_at = parse_since(updated_since, "updated_since") if updated_since is not None else None
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
        updated_since=updated_at,
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


@router.post(
    "/struggles/stream/tickets",
    response_model=StreamTicket,
    responses={404: problem("no such class")},
)
async def create_stream_ticket(
    principal: Staff,
    rosters: Rosters,
    request: Request,
    body: Annotated[StreamTicketRequest | None, Body()] = None,
) -> Any:
    """A short-lived ticket that opens ``GET /struggles/stream?ticket=...`` as the caller
    (an ``EventSource`` cannot send an ``Authorization`` header): valid for
    ``PROGRESS_STREAM_TICKET_TTL_S`` (60 s by default) and no longer than the caller's
    token, on any replica, as often as needed within that time. With ``class_id``, the
    stream it opens carries that class's alerts only (404 for a class the caller does
    not reach)."""
    class_id = (body or StreamTicketRequest()).class_id
    await _check_class(rosters, Scope.of(principal), class_id)
    signer: TicketSigner = request.app.state.stream_tickets
    ticket, expires_at = signer.mint(principal, class_id)
    return {"ticket": ticket, "expires_at": expires_at, "class_id": class_id}


@router.get(
    "/struggles/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": FRAME_FORMAT,
        },
        403: problem("a student, or a class other than the ticket's"),
        404: problem("no such class"),
    },
)
async def stream(
    caller: StreamCallerDep,
    alerts: Alerts,
    rosters: Rosters,
    broadcaster: Broadcaster,
    settings: CurrentSettings,
    class_id: ClassFilter = None,
    last_event_id: Annotated[str | None, Header()] = None,
    last_event_id_query: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            max_length=20,
            description="resume after this id when the Last-Event-ID header cannot be "
            "sent (a new EventSource); the header wins",
        ),
    ] = None,
) -> StreamingResponse:
    """Server-Sent Events: every alert the caller reaches (with ``class_id``: of that
    class only, as the list filters) when it is raised (``event: struggle``), acknowledged
    (``event: struggle.acknowledged``) or resolved (``event: struggle.resolved``); ``id`` =
    the change's sequence number, ``data`` = the alert in its current state with
    ``change``; heartbeat comments in between. The caller's reach and the class's roster
    are read with each change, so roster changes apply to an open stream. Reconnect with
    ``Last-Event-ID`` (or ``?last_event_id=``) to receive what changed meanwhile.
    Credentials: ``Authorization: Bearer``, or ``?ticket=`` from
    ``POST /struggles/stream/tickets`` (a ticket bound to a class opens that class's
    stream only)."""
    if caller.class_id is not None:
        if class_id is not None and class_id != caller.class_id:
            raise Forbidden(f"this stream ticket is for class {caller.class_id!r}")
        class_id = caller.class_id
    scope = Scope.of(caller.principal)
    await _check_class(rosters, scope, class_id)
    resume_from = last_event_id if last_event_id is not None else last_event_id_query
    last_seq = None
    if resume_from is not None:
        if not resume_from.isdigit():
            raise UnknownReference("Last-Event-ID must be an id this stream sent")
        last_seq = int(resume_from)
    # fixed before the response starts (not in the generator, which runs after the
    # headers went out): a change made right after the client saw them is not skipped
    position = await alerts.latest_change() if last_seq is None else last_seq
    frames = broadcaster.events(alerts, position, settings.sse_heartbeat_s, scope, class_id)
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/struggles/{alert_id}",
    response_model=Alert,
    responses={404: problem("no such alert")},
)
async def get_struggle(alert_id: uuid.UUID, principal: Staff, alerts: Alerts) -> Any:
    """One alert, as the list shows it; 404 for an alert the caller does not reach (a
    teacher: not of their students or classes), as for one that does not exist."""
    return await alerts.get(alert_id, Scope.of(principal))
