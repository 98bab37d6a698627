"""Teachers' digests: their notification settings, a preview of the digest, the
unsubscribe link (no sign-in), and the operators' view of deliveries
(docs/digests.md)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from typing import Annotated, Any, Literal
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN
from service.auth import Admin, CurrentPrincipal, Principal
from service.deps import CurrentSettings
from service.errors import Forbidden, InvalidInput, NotFound
from service.frontend.digests.compose import render_html, render_slack, render_text, subject
from service.frontend.digests.periods import WEEKDAYS, UnknownTimeZone, preview_period, zone
from service.frontend.digests.scheduler import Digests
from service.frontend.digests.schemas import (
    DigestPreview,
    NotificationsIn,
    NotificationsOut,
    OpsDigests,
)
from service.frontend.digests.tokens import BadUnsubscribeToken
from service.schemas import PathId, problem
from service.settings import Settings

router = APIRouter(tags=["digests"])
# the unsubscribe link's routes: no bearer token (the link carries a signed token)
public_router = APIRouter(tags=["digests"])
log = structlog.get_logger("digests")
TeacherId = PathId
# an address as mail servers take it: something@domain.tld, no spaces or angle brackets
EMAIL = re.compile(r"^[^@\s<>,;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
STATUSES = ("pending", "sending", "sent", "failed", "empty", "skipped")


async def _digests(request: Request) -> Digests:
    digests: Digests = request.app.state.digests
    return digests


def _own_or_admin(principal: Principal, teacher_id: str) -> None:
    """A teacher sees and changes only their own settings; an admin anyone's."""
    if principal.role == "admin":
        return
    if principal.role != "teacher" or principal.subject != teacher_id:
        raise Forbidden("a teacher may only see and change their own notifications")


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "weekday": None if row["weekday"] is None else WEEKDAYS[row["weekday"]],
        "quiet_days": [WEEKDAYS[d] for d in row["quiet_days"]],
    }


def validated(body: NotificationsIn, settings: Settings) -> dict[str, Any]:
    """The settings as stored, or a 422 saying what to change."""
    try:
        zone(body.time_zone)
    except UnknownTimeZone as exc:
        raise InvalidInput(str(exc)) from exc
    if any(ord(c) < 32 or ord(c) == 127 for c in body.address):
        raise InvalidInput("address has control characters")
    if body.channel == "email" and not EMAIL.match(body.address):
        raise InvalidInput("address is not an email address")
    if body.channel == "webhook":
        schemes = (
            ("https://",) if settings.environment != "development" else ("https://", "http://")
        )
        if not body.address.startswith(schemes) or any(c.isspace() for c in body.address):
            raise InvalidInput(f"address must be a URL starting with {' or '.join(schemes)}")
    weekday = None if body.weekday is None else WEEKDAYS.index(body.weekday)
    quiet = sorted({WEEKDAYS.index(d) for d in body.quiet_days})
    if body.frequency == "weekly" and weekday is None:
        raise InvalidInput("a weekly digest needs weekday")
    if body.frequency == "daily" and weekday is not None:
        raise InvalidInput("weekday is for weekly digests only")
    if weekday is not None and weekday in quiet:
        raise InvalidInput("the weekday of a weekly digest cannot be a quiet day")
    return {
        "channel": body.channel,
        "address": body.address,
        "frequency": body.frequency,
        "weekday": weekday,
        "time_zone": body.time_zone,
        "send_hour": body.send_hour,
        "quiet_days": quiet,
        "enabled": body.enabled,
    }


DigestsDep = Annotated[Digests, Depends(_digests)]


@router.get(
    "/teachers/{teacher_id}/notifications",
    response_model=NotificationsOut,
    responses={404: problem("the teacher has no notification settings")},
)
async def get_notifications(
    teacher_id: TeacherId, principal: CurrentPrincipal, digests: DigestsDep
) -> Any:
    """The teacher's digest settings (a teacher: their own; an admin: anyone's)."""
    _own_or_admin(principal, teacher_id)
    row = await digests.store.get_settings(teacher_id)
    if row is None:
        raise NotFound(f"teacher {teacher_id!r} has no notification settings")
    return _out(row)


@router.put("/teachers/{teacher_id}/notifications", response_model=NotificationsOut)
async def put_notifications(
    teacher_id: TeacherId,
    body: NotificationsIn,
    principal: CurrentPrincipal,
    digests: DigestsDep,
    settings: CurrentSettings,
) -> Any:
    """Create or replace the teacher's digest settings: channel and address, daily or
    weekly (on a weekday), time zone, local send hour, quiet days, on or off. Putting
    them with ``enabled: true`` turns digests on again after an unsubscribe."""
    _own_or_admin(principal, teacher_id)
    row = await digests.store.put_settings(teacher_id, validated(body, settings))
    log.info("notifications_set", teacher_id=teacher_id, by=principal.subject)
    return _out(row)


@router.get(
    "/teachers/{teacher_id}/digest",
    response_model=DigestPreview,
)
async def preview(
    teacher_id: TeacherId,
    principal: CurrentPrincipal,
    digests: DigestsDep,
    period: Annotated[Literal["day", "week"], Query()] = "day",
) -> Any:
    """What a digest would say now, without sending anything: the whole local day (or
    7 days) before today in the teacher's time zone (UTC without settings), composed and
    rendered as an email (subject, text, HTML) and as the webhook's JSON."""
    _own_or_admin(principal, teacher_id)
    row = await digests.store.get_settings(teacher_id)
    time_zone = row["time_zone"] if row else "UTC"
    doc = await digests.compose(teacher_id, preview_period(period, time_zone, datetime.now(UTC)))
    return {
        "digest": doc,
        "would_send": not doc["empty"],
        "subject": subject(doc),
        "text": render_text(doc),
        "html": render_html(doc),
        "webhook": render_slack(doc),
    }


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body style='font-family: sans-serif'>"
        f"<h1>{escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
    )


UNSUBSCRIBE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "an HTML page"},
    400: {"content": {"text/html": {}}, "description": "the link is not valid (HTML page)"},
    422: problem("no token, or one longer than a link's"),
}


@public_router.get(
    "/notifications/unsubscribe",
    response_class=HTMLResponse,
    responses=UNSUBSCRIBE_RESPONSES,
)
async def unsubscribe_page(
    digests: DigestsDep, token: Annotated[str, Query(max_length=2048)]
) -> HTMLResponse:
    """The page an unsubscribe link opens (no sign-in): it asks to confirm and changes
    nothing by itself (mail scanners open links); its button POSTs here."""
    try:
        digests.tokens.teacher_of(token)
    except BadUnsubscribeToken:
        return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", 400)
    action = f"/notifications/unsubscribe?token={quote(token, safe='')}"
    return _page(
        "Stop progress digests?",
        f"<form method='post' action='{escape(action)}'>"
        "<p>You will get no more progress digests by this channel. You can turn them "
        "on again in your notification settings.</p>"
        "<button type='submit'>Unsubscribe</button></form>",
    )


@public_router.post(
    "/notifications/unsubscribe",
    response_class=HTMLResponse,
    responses=UNSUBSCRIBE_RESPONSES,
)
async def unsubscribe(
    digests: DigestsDep, token: Annotated[str, Query(max_length=2048)]
) -> HTMLResponse:
    """Turns the link's teacher's digests off (no sign-in): the confirmation page's
    button, and mail clients' one-click unsubscribe (RFC 8058, body
    ``List-Unsubscribe=One-Click``, which is not needed). Repeating it is harmless."""
    try:
        teacher_id = digests.tokens.teacher_of(token)
    except BadUnsubscribeToken:
        return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", 400)
    await digests.store.unsubscribe(teacher_id)
    log.info("digest_unsubscribed", teacher_id=teacher_id)
    return _page("Unsubscribed", "<p>You will get no more progress digests.</p>")


@router.get("/ops/digests", response_model=OpsDigests, tags=["ops"])
async def ops_digests(
    _: Admin,
    digests: DigestsDep,
    status: Annotated[
        list[Literal["pending", "sending", "sent", "failed", "empty", "skipped"]] | None,
        Query(
            description="statuses listed (repeat the parameter); default pending, "
            "sending and failed"
        ),
    ] = None,
    teacher_id: Annotated[
        str | None, Query(min_length=1, max_length=STUDENT_ID_MAX, pattern=STUDENT_ID_PATTERN)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """Digest deliveries: counts by status, and the newest rows of the statuses asked
    for, with their attempts, next attempt and last error (no address, no content)."""
    wanted = status or ["pending", "sending", "failed"]
    counts, rows = await digests.store.deliveries(wanted, teacher_id, limit)
    return {"counts": {s: counts.get(s, 0) for s in STATUSES}, "deliveries": rows}
