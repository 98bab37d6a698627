"""DELETE /students/{student_id}: erasure of everything the service holds on a student."""

from typing import Any

import structlog
from fastapi import APIRouter

from service.auth import Admin
from service.deps import Actors, Alerts, EventLogDep, Projection, Rosters
from service.errors import NotFound
from service.frontend.routes.progress import StudentId
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
    rosters: Rosters,
) -> Any:
    """Removes the student's actor state, its reminders (from the Dapr scheduler), its
    alert rows (and their name from class alerts), its read model rows (progress,
    history), its retained events and its error signals held by the actors of the
    classes it is enrolled in, and reports what was removed. Class enrollments stay:
    they are the school's (docs/rosters.md). Each step can be repeated: a failed
    erasure (503) is finished by asking again."""
    actor = await actors.erase(student_id)  # first: its outbox sends no more signals
    removed = await alerts.delete_student(student_id)
    projected = await projection.delete_student(student_id)
    await event_log.delete_student(student_id)
    signals = 0
    for class_id in (await rosters.classes_of([student_id])).get(student_id, {}):
        signals += await actors.forget_in_class(class_id, student_id)
    if not actor["found"] and removed == 0 and projected == 0 and signals == 0:
        raise NotFound(f"nothing is held on student {student_id!r}")
    log.info(
        "student_erased",
        student_id=student_id,
        by=principal.subject,
        alerts=removed,
        class_signals=signals,
    )
    return {
        "student_id": student_id,
        "state_removed": actor["state_removed"],
        "reminders_removed": actor["reminders_removed"],
        "alerts_removed": removed,
    }
