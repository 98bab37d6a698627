"""GET /progress/{student_id}: a student's mastery, answered by the student's actor."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN
from service.auth import CurrentPrincipal
from service.deps import Actors, Alerts
from service.errors import Forbidden, NotFound
from service.schemas import Progress, problem

router = APIRouter(tags=["progress"])
StudentId = Annotated[
    str, Path(min_length=1, max_length=STUDENT_ID_MAX, pattern=STUDENT_ID_PATTERN)
]


@router.get(
    "/progress/{student_id}",
    response_model=Progress,
    responses={404: problem("no events seen for this student")},
)
async def get_progress(
    student_id: StudentId, principal: CurrentPrincipal, actors: Actors, alerts: Alerts
) -> Any:
    """Mastery per topic (score, level, components), overall, streak, last activity and
    open struggle count. Teachers and admins see everyone; a student only themself."""
    if principal.role == "student" and principal.subject != student_id:
        raise Forbidden("students may read only their own progress")
    result = await actors.get_progress(student_id)
    if not result.get("found"):
        raise NotFound(f"no events have been received for student {student_id!r}")
    view: dict[str, Any] = result["progress"]
    # The SDK's JSON deserializer turns ISO strings back into datetimes (local tz).
    if isinstance(view.get("last_activity"), datetime):
        view["last_activity"] = view["last_activity"].astimezone(UTC)
    view["open_struggles"] = await alerts.open_count(student_id)
    return view
