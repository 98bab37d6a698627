"""DELETE /students/{student_id}: erasure of everything the service holds on a student."""

from typing import Any

import structlog
from fastapi import APIRouter

from service.auth import Admin
from service.deps import Actors, Alerts, EventLogDep, Projection
from service.errors import NotFound
from service.routes.progress import StudentId
from service.schemas import Erasure, problem

router = APIRouter(tags=["students"])
log = structlog.get_logger("erasure")


@router.delete(
    "/students/{student_id}",
    response_model=Erasure,
    responses={404: problem("nothing held on this student")},
)
async def erase_student(
    student_id: StudentId,
    principal: Admin,
    actors: Actors,
    alerts: Alerts,
    projection: Projection,
    event_log: EventLogDep,
) -> Any:
    """Removes the student's actor state, its reminders (from the Dapr scheduler), its
    alert rows (and their name from class alerts), its read model rows (progress,
    history) and its retained events, and reports what was removed. Class enrollments
    stay: they are the school's (docs/rosters.md)."""
    actor = await actors.erase(student_id)
    removed = await alerts.delete_student(student_id)
    projected = await projection.delete_student(student_id)
    await event_log.delete_student(student_id)
    if not actor["found"] and removed == 0 and projected == 0:
        raise NotFound(f"nothing is held on student {student_id!r}")
    log.info("student_erased", student_id=student_id, by=principal.subject, alerts=removed)
    return {
        "student_id": student_id,
        "state_removed": actor["state_removed"],
        "reminders_removed": actor["reminders_removed"],
        "alerts_removed": removed,
    }
