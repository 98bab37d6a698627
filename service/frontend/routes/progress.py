"""GET /progress/{student_id}: a student's mastery, answered by the student's actor; and
its daily history, from the read model."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from service.auth import CurrentPrincipal, Principal
from service.deps import Actors, Alerts, Rosters, Views
from service.errors import InvalidInput, NotFound
from service.readmodel.schemas import History
from service.rosters.repository import RosterRepository
from service.rosters.scope import Scope
from service.schemas import PathId, Progress, problem

router = APIRouter(tags=["progress"])
StudentId = PathId


async def _reachable(rosters: RosterRepository, principal: Principal, student_id: str) -> None:
    """Out of the caller's reach answers as a student never seen (ids cannot be probed)."""
    if not await rosters.reaches_student(Scope.of(principal), student_id):
        raise _unknown(student_id)


def _unknown(student_id: str) -> NotFound:
    return NotFound(f"no events have been received for student {student_id!r}")


@router.get(
    "/progress/{student_id}",
    response_model=Progress,
    responses={404: problem("no events seen for this student")},
)
async def get_progress(
    student_id: StudentId,
    principal: CurrentPrincipal,
    actors: Actors,
    alerts: Alerts,
    rosters: Rosters,
) -> Any:
    """Mastery per topic (score, level, components; the probability that the student
    has learnt it and its level), overall, streak, last activity and open struggle
    count. An admin sees every student, a teacher the students of the classes they
    teach, a student only themself; a student out of reach gets the same 404 as an
    unknown one, so ids cannot be probed."""
    await _reachable(rosters, principal, student_id)
    result = await actors.get_progress(student_id)
    if not result.get("found"):
        raise _unknown(student_id)
    view: dict[str, Any] = result["progress"]
    # The SDK's JSON deserializer turns ISO strings back into datetimes (local tz).
    if isinstance(view.get("last_activity"), datetime):
        view["last_activity"] = view["last_activity"].astimezone(UTC)
    view["open_struggles"] = await alerts.open_count(student_id)
    return view


HISTORY_MAX_DAYS = 366
DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {text!r} is not a day (YYYY-MM-DD)") from exc


def _days_before(day: date, days: int) -> date:
    """``day`` minus ``days``, or the first day there is (no overflow on year 1)."""
    return day - timedelta(days=days) if day.toordinal() > days else date.min


@router.get(
    "/progress/{student_id}/history",
    response_model=History,
    responses={404: problem("no such student (or not one the caller reaches)")},
)
async def get_history(
    student_id: StudentId,
    principal: CurrentPrincipal,
    views: Views,
    topic_id: Annotated[
        str | None,
        Query(description='one topic ("*": overall mastery); all when absent', max_length=128),
    ] = None,
    since: Annotated[
        str | None,
        Query(
            alias="from",
            description="first day (UTC, YYYY-MM-DD), default 30 days before `to`",
            json_schema_extra={"format": "date"},
            pattern=DAY_PATTERN,
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            alias="to",
            description="last day (UTC, YYYY-MM-DD), default today",
            json_schema_extra={"format": "date"},
            pattern=DAY_PATTERN,
        ),
    ] = None,
) -> Any:
    """One point per topic and UTC day the student was active: the day's last score and
    level (topic ``*`` is the overall mastery). Who may read it is as for the progress."""
    last = _day(until, "to") if until is not None else datetime.now(UTC).date()
    first = _day(since, "from") if since is not None else _days_before(last, 30)
    if first > last:
        raise InvalidInput("from: must not be after to")
    if (last - first).days >= HISTORY_MAX_DAYS:
        raise InvalidInput(f"from..to: at most {HISTORY_MAX_DAYS} days")
    points = await views.history(Scope.of(principal), student_id, topic_id, first, last)
    if points is None:
        raise _unknown(student_id)
    return {"student_id": student_id, "points": points}
