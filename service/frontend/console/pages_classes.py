"""The console's class pages: My classes (``/console/``), a class
(``/console/classes/{id}``: the risk-sorted roster, the class x topic heatmap, the class's
misconceptions) and its roster as CSV.

Every read goes through the API's own route handlers with the caller's principal
(``list_classes``, ``class_students``, ``class_topics``, ``list_struggles``), so a page
shows exactly what the API gives that caller; a class the caller does not teach is the
API's 404 with its detail, rendered as the console's error page."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from actors.mastery import level_for
from actors.vocabulary import AlertStatus
from service.alerts.repository import AlertRepository
from service.auth import Principal
from service.deps import Alerts, Rosters, Views
from service.errors import NotFound
from service.frontend.console.identity import ConsoleUserDep
from service.frontend.console.rendering import PREFIX, render
from service.frontend.console.roster_csv import roster_csv
from service.frontend.routes.classes import ClassId, class_students, class_topics, list_classes
from service.frontend.routes.struggles import list_struggles
from service.readmodel.views import ClassViews, Sort
from service.rosters.repository import RosterRepository

router = APIRouter(prefix=PREFIX, include_in_schema=False)

CLASSES_PER_PAGE = 50  # My classes: one API page of classes at a time, with a next link
ROSTER_PER_PAGE = 50  # the class page's roster: the API's default page
API_MAX_PAGE = 200  # the largest page the API gives: reading a whole table or list
SUMMARY_CONCURRENCY = 4  # class tables read at once for My classes (the read pool has 10)
SEVERITIES = ("high", "medium", "low")
UNRESOLVED: tuple[AlertStatus, ...] = ("open", "acknowledged")
SORTS: tuple[Sort, ...] = ("risk", "mastery", "last_active", "student_id")
SORT_LABELS = {
    "risk": "Risk",
    "mastery": "Mastery",
    "last_active": "Last active",
    "student_id": "Student id",
}
MINUS = "\u2212"
CursorParam = Annotated[str | None, Query(max_length=512)]


@dataclass(frozen=True)
class Mover:
    """The student whose overall mastery changed most over 7 days, and by how much."""

    student_id: str
    change: float

    @property
    def text(self) -> str:
        return signed_points(self.change)


@dataclass(frozen=True)
class ClassLine:
    """One class on My classes."""

    class_id: str
    title: str
    student_count: int
    alerts: dict[str, int]
    mover: Mover | None


def signed_points(change: float) -> str:
    """``+12.5 points``, ``−8.0 points`` (a true minus sign), ``0.0 points``."""
    sign = "+" if change > 0 else MINUS if change < 0 else ""
    return f"{sign}{abs(change):.1f} points"


def biggest_change(rows: Sequence[Mapping[str, Any]]) -> Mover | None:
    """The row with the largest absolute 7-day change (the first of equals, in the rows'
    order); None when nobody's mastery changed."""
    best: Mover | None = None
    for row in rows:
        change = row["mastery_change_7d"]
        if change is None or change == 0:
            continue
        if best is None or abs(change) > abs(best.change):
            best = Mover(row["student_id"], float(change))
    return best


def alert_totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The class's unresolved student alerts by severity: the sum of its rows' counts."""
    return {s: sum(int(row["open_alerts"].get(s, 0)) for row in rows) for s in SEVERITIES}


async def whole_table(
    principal: Principal, views: ClassViews, class_id: str, sort: Sort
) -> list[dict[str, Any]]:
    """Every row of the class table in ``sort`` order, page after page of the API."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await class_students(class_id, principal, views, sort, cursor, API_MAX_PAGE)
        rows.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


async def class_line(principal: Principal, views: ClassViews, item: Mapping[str, Any]) -> ClassLine:
    # Alert counts: the class table's rows already carry each student's unresolved alerts
    # by severity (one aggregate statement), and My classes reads the whole table anyway
    # for the 7-day changes — so summing them is the cheapest correct source; paging the
    # alert list per class would read every alert. It counts the students' alerts (open
    # or acknowledged, as the table does); alerts about the class itself (class
    # misconceptions) are listed on the class page.
    rows = await whole_table(principal, views, item["class_id"], "student_id")
    return ClassLine(
        class_id=item["class_id"],
        title=item["title"],
        student_count=item["student_count"],
        alerts=alert_totals(rows),
        mover=biggest_change(rows),
    )


async def class_lines(
    principal: Principal, views: ClassViews, items: Sequence[Mapping[str, Any]]
) -> list[ClassLine]:
    """My classes' lines, a few class tables read at once; a class deleted since it was
    listed is left out (the API would now answer 404 for it)."""
    gate = asyncio.Semaphore(SUMMARY_CONCURRENCY)

    async def one(item: Mapping[str, Any]) -> ClassLine | None:
        async with gate:
            try:
                return await class_line(principal, views, item)
            except NotFound:
                return None

    found = await asyncio.gather(*(one(item) for item in items))
    return [line for line in found if line is not None]


async def unresolved_misconceptions(
    principal: Principal, alerts: AlertRepository, rosters: RosterRepository, class_id: str
) -> list[dict[str, Any]]:
    """The class's open and acknowledged class_misconception alerts, newest first, from
    the API's alert list (at most one unresolved per topic and error type, so few)."""
    found: list[dict[str, Any]] = []
    for status in UNRESOLVED:
        cursor: str | None = None
        while True:
            page = await list_struggles(
                principal,
                alerts,
                rosters,
                class_id=class_id,
                status=status,
                kind="class_misconception",
                cursor=cursor,
                limit=API_MAX_PAGE,
            )
            found.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
    found.sort(key=lambda a: (a["detected_at"], str(a["id"])), reverse=True)
    return found


def topic_columns(
    heatmap: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]
) -> list[str]:
    """The roster's topic columns: the heatmap's topics and any a row has besides."""
    topics = {cell["topic_id"] for cell in heatmap}
    topics.update(topic for row in rows for topic in row["topics"])
    return sorted(topics)


def page_url(class_id: str, sort: Sort, cursor: str | None = None) -> str:
    query = {"sort": sort} | ({"cursor": cursor} if cursor else {})
    return f"{PREFIX}/classes/{class_id}?{urlencode(query)}"


def csv_url(class_id: str, sort: Sort) -> str:
    path = f"{PREFIX}/classes/{class_id}/students.csv"
    return path if sort == "risk" else f"{path}?{urlencode({'sort': sort})}"


def when(value: datetime | str | None) -> str:
    """A time for people: ``2026-12-06 10:00 UTC`` (empty for none)."""
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | str | None) -> str:
    """A time for the ``datetime`` attribute of ``<time>``."""
    if value is None:
        return ""
    return value if isinstance(value, str) else value.astimezone(UTC).isoformat()


def days_ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return ""
    days = (now - value).days
    return "today" if days <= 0 else "yesterday" if days == 1 else f"{days} days ago"


def percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.0f} %"


FORMATS: dict[str, Any] = {
    "points": signed_points,
    "when": when,
    "iso": iso,
    "days_ago": days_ago,
    "percent": percent,
    "level_for": level_for,
}


@router.get("/")
async def my_classes(
    request: Request,
    user: ConsoleUserDep,
    rosters: Rosters,
    views: Views,
    cursor: CursorParam = None,
) -> Response:
    """The caller's classes (a teacher: those they teach; an admin: all), 50 a page in
    the API's order, each with its students, unresolved alerts and biggest mover."""
    page = await list_classes(user.principal, rosters, cursor, CLASSES_PER_PAGE)
    lines = await class_lines(user.principal, views, page["items"])
    next_cursor = page["next_cursor"]
    next_url = f"{PREFIX}/?{urlencode({'cursor': next_cursor})}" if next_cursor else None
    return render(
        request,
        "classes.html",
        user,
        title="My classes",
        classes=lines,
        next_url=next_url,
        paged=cursor is not None,
        severities=SEVERITIES,
        **FORMATS,
    )


@router.get("/classes/{class_id}")
async def class_page(
    request: Request,
    class_id: ClassId,
    user: ConsoleUserDep,
    views: Views,
    rosters: Rosters,
    alerts: Alerts,
    sort: Sort = "risk",
    cursor: CursorParam = None,
) -> Response:
    """A class: its roster as the API's class table gives it (sorted, paged), the class x
    topic heatmap, its unresolved misconceptions, and the CSV link."""
    principal = user.principal
    # first: a class the caller does not teach is the API's 404, before anything is read
    page = await class_students(class_id, principal, views, sort, cursor, ROSTER_PER_PAGE)
    heatmap = (await class_topics(class_id, principal, views))["topics"]
    misconceptions = await unresolved_misconceptions(principal, alerts, rosters, class_id)
    roster = await rosters.roster(class_id)  # the title (the class is in reach: checked)
    next_cursor = page["next_cursor"]
    return render(
        request,
        "class.html",
        user,
        title=roster.title if roster else class_id,
        class_id=class_id,
        rows=page["items"],
        topics=topic_columns(heatmap, page["items"]),
        heatmap=heatmap,
        misconceptions=misconceptions,
        sort=sort,
        sort_label=SORT_LABELS[sort],
        sorts=[(s, SORT_LABELS[s], page_url(class_id, s)) for s in SORTS],
        next_url=page_url(class_id, sort, next_cursor) if next_cursor else None,
        first_url=page_url(class_id, sort) if cursor else None,
        csv_url=csv_url(class_id, sort),
        severities=SEVERITIES,
        now=datetime.now(UTC),
        **FORMATS,
    )


@router.get("/classes/{class_id}/students.csv")
async def class_csv(
    class_id: ClassId, user: ConsoleUserDep, views: Views, sort: Sort = "risk"
) -> Response:
    """The whole class table (every page, in ``sort`` order) as a CSV download."""
    rows = await whole_table(user.principal, views, class_id, sort)
    return Response(
        roster_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            # class ids are [A-Za-z0-9_.:@-]+ (the id rule): nothing to quote in the name
            "Content-Disposition": f'attachment; filename="{class_id}-students.csv"',
            "Cache-Control": "no-store",
        },
    )
