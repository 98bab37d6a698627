"""GET /progress/{student_id}: a student's mastery, answered by the student's actor."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN
from service.auth import CurrentPrincipal
from service.deps import Actors, Alerts, Rosters
from service.errors import NotFound
from service.rosters.scope import Scope
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
    student_id: StudentId,
    principal: CurrentPrincipal,
    actors: Actors,
    alerts: Alerts,
    rosters: Rosters,
) -> Any:
    """Mastery per topic (score, level, components), overall, streak, last activity and
    open struggle count. An admin sees every student, a teacher the students of the
    classes they teach, a student only themself; a student out of reach gets the same
    404 as an unknown one, so ids cannot be probed."""
    unknown = NotFound(f"no events have been received for student {student_id!r}")
    if not await rosters.reaches_student(Scope.of(principal), student_id):
        raise unknown
    result = await actors.get_progress(student_id)
    if not result.get("found"):
        raise unknown
    view: dict[str, Any] = result["progress"]
    # The SDK's JSON deserializer turns ISO strings back into datetimes (local tz).
    if isinstance(view.get("last_activity"), datetime):
        view["last_activity"] = view["last_activity"].astimezone(UTC)
    view["open_struggles"] = await alerts.open_count(student_id)
    return view
