"""The student page and the alert actions.

``GET /console/students/{id}``: mastery per topic with its components, the mastery
history (drawn by static/history-chart.js from a JSON island, and the same numbers as a
table), and the student's open and recent alerts with their evidence, rule and actions.
``POST /console/alerts/{id}/acknowledge`` and ``.../resolve``: the actions, then back to
the page they came from (POST-redirect-GET).

Everything goes through the API's own route handlers with the caller's principal, so the
page shows what the API gives that caller and an action is refused as the API refuses
it (an alert of a student the caller does not reach: 404)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from service.alerts.schemas import Alert, ResolveRequest
from service.auth import Principal
from service.deps import Actors, Alerts, Rosters, Views
from service.errors import NotFound
from service.frontend.console.identity import ConsoleUserDep, check_csrf
from service.frontend.console.rendering import PREFIX, render, safe_next
from service.frontend.routes import progress as progress_routes
from service.frontend.routes import struggles as struggle_routes
from service.readmodel.schemas import History, HistoryPoint
from service.schemas import PathId, Progress

router = APIRouter(prefix=PREFIX, include_in_schema=False)

RECENT_ALERTS = 20  # the newest alerts of the student, whatever their status
OVERALL = "*"  # the history's topic of the overall mastery
COMPONENTS = (
    ("exercise_completion", "Exercise completion"),
    ("quiz", "Quiz"),
    ("code_quality", "Code quality"),
    ("consistency", "Consistency"),
)
Reason = Literal["addressed", "not_useful"]
FormText = Annotated[str | None, Form(max_length=2048)]


def show(value: Any) -> str:
    """A value of an alert's evidence, details or rule, as text."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {show(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(show(item) for item in value) or "none"
    return str(value)


def facts(values: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Name and text of each member, in the order the API gives them."""
    return [(name, show(value)) for name, value in (values or {}).items()]


def topic_label(topic_id: str) -> str:
    return "Overall" if topic_id == OVERALL else topic_id


@dataclass(frozen=True)
class HistoryTable:
    """The history as a table: a row per day, a column per topic (overall first)."""

    topics: list[str]
    rows: list[tuple[str, list[str]]]


def history_table(points: Sequence[HistoryPoint]) -> HistoryTable:
    topics = sorted({p.topic_id for p in points}, key=lambda t: (t != OVERALL, t))
    days = sorted({p.day for p in points})
    cell = {(p.topic_id, p.day): f"{p.score} ({p.level})" for p in points}
    rows = [(day.isoformat(), [cell.get((t, day), "—") for t in topics]) for day in days]
    return HistoryTable([topic_label(t) for t in topics], rows)


@dataclass(frozen=True)
class AlertView:
    """An alert as the page shows it: the API's alert and its members as text."""

    alert: Alert
    details: list[tuple[str, str]]
    evidence: list[tuple[str, str]] | None
    thresholds: list[tuple[str, str]]

    who: str

    @classmethod
    def of(cls, alert: Alert) -> AlertView:
        evidence = None if alert.evidence is None else facts(alert.evidence)
        thresholds = facts((alert.rule or {}).get("thresholds"))
        return cls(alert, facts(alert.details), evidence, thresholds, who_changed(alert))


def at(moment: datetime | None) -> str:
    """A time as the page writes it (UTC, to the minute); live.js writes the same."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def who_changed(alert: Alert) -> str:
    """Who acknowledged or resolved the alert, and when (empty while open); live.js
    writes the same text when a frame changes it."""
    if alert.status == "resolved":
        reason = "not useful" if alert.resolution_reason == "not_useful" else "addressed"
        return f"by {alert.resolved_by} at {at(alert.resolved_at)} ({reason})"
    if alert.status == "acknowledged":
        return f"by {alert.acknowledged_by} at {at(alert.acknowledged_at)}"
    return ""


async def _progress(
    student_id: str, principal: Principal, actors: Actors, alerts: Alerts, rosters: Rosters
) -> Progress | NotFound:
    """The API's progress of the student, or the 404 it answers."""
    try:
        view = await progress_routes.get_progress(student_id, principal, actors, alerts, rosters)
    except NotFound as unknown:
        return unknown
    return Progress.model_validate(view)


async def _alerts(
    student_id: str, principal: Principal, alerts: Alerts, rosters: Rosters
) -> list[Alert]:
    """The student's newest alerts the caller reaches, every status, as the API lists."""
    page = await struggle_routes.list_struggles(
        principal, alerts, rosters, student_id=[student_id], limit=RECENT_ALERTS
    )
    return [Alert.model_validate(row) for row in page["items"]]


async def _history(student_id: str, principal: Principal, views: Views) -> History:
    """The API's history of the student (its default: the last 30 days)."""
    found = await progress_routes.get_history(
        student_id, principal, views, topic_id=None, since=None, until=None
    )
    return History.model_validate(found)


@router.get("/students/{student_id}")
async def student_page(
    request: Request,
    student_id: PathId,
    user: ConsoleUserDep,
    actors: Actors,
    alerts: Alerts,
    rosters: Rosters,
    views: Views,
) -> Response:
    """A student the caller does not reach, or one with neither progress nor alerts,
    is the API's 404."""
    # read first: the page's live.js resumes the stream after it, so an alert raised
    # while the page is rendered is announced, not missed
    after = await alerts.latest_change()
    progress = await _progress(student_id, user.principal, actors, alerts, rosters)
    listed = await _alerts(student_id, user.principal, alerts, rosters)
    if isinstance(progress, NotFound) and not listed:
        raise progress
    history = await _history(student_id, user.principal, views)
    return render(
        request,
        "student.html",
        user,
        title=f"Student {student_id}",
        student_id=student_id,
        progress=None if isinstance(progress, NotFound) else progress,
        components=COMPONENTS,
        history=history.model_dump(mode="json"),
        history_table=history_table(history.points),
        alerts=[AlertView.of(alert) for alert in listed],
        live_after=after,
        at=at,
        back=f"{PREFIX}/students/{quote(student_id)}",
    )


def _back(back: str | None, alert: Mapping[str, Any]) -> RedirectResponse:
    """303 to ``back`` when it is a console path, else to the alert's student page."""
    if back and safe_next(back) == back:
        target = back
    elif alert.get("student_id"):
        target = f"{PREFIX}/students/{quote(str(alert['student_id']))}"
    else:
        target = PREFIX + "/"
    return RedirectResponse(target, status_code=303)


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge_alert(
    request: Request,
    alert_id: uuid.UUID,
    user: ConsoleUserDep,
    alerts: Alerts,
    csrf_token: Annotated[str | None, Form(max_length=128)] = None,
    back: FormText = None,
) -> Response:
    """As ``POST /struggles/{id}/acknowledge`` (409 for a resolved alert)."""
    check_csrf(request, user, csrf_token)
    changed = await struggle_routes.acknowledge(alert_id, user.principal, alerts)
    return _back(back, changed)


@router.post("/alerts/{alert_id}/resolve")
async def resolve_alert(
    request: Request,
    alert_id: uuid.UUID,
    user: ConsoleUserDep,
    alerts: Alerts,
    csrf_token: Annotated[str | None, Form(max_length=128)] = None,
    back: FormText = None,
    reason: Annotated[Reason, Form()] = "addressed",
) -> Response:
    """As ``POST /struggles/{id}/resolve``; ``reason=not_useful`` (the "resolve as not
    useful" button) records a false alarm, counted by ``GET /rules/stats``."""
    check_csrf(request, user, csrf_token)
    body = ResolveRequest(reason=reason)
    changed = await struggle_routes.resolve(alert_id, user.principal, alerts, body)
    return _back(back, changed)
