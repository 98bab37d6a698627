"""Classes and their rosters: a teacher's classes, and the admin's ways in (one class at a
time, or a whole OneRoster 1.2 CSV bundle)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from service.auth import Admin, Staff
from service.deps import CurrentSettings, Rosters, Views
from service.errors import InvalidInput, NotFound, UnknownReference
from service.readmodel.schemas import (
    ClassExercises,
    ClassStudentsPage,
    ClassTopics,
    decode_page,
    encode_page,
)
from service.readmodel.views import Sort
from service.rosters.apply import Roster, apply_bundle
from service.rosters.oneroster import BundleRejected, parse_bundle
from service.rosters.repository import ClassSummary
from service.rosters.schemas import (
    ClassIn,
    ClassOut,
    ClassPage,
    ImportResult,
    decode_cursor,
    encode_cursor,
)
from service.rosters.scope import Scope
from service.schemas import PathId, problem

router = APIRouter(tags=["classes"])
ClassId = PathId


def _out(summary: ClassSummary) -> dict[str, Any]:
    return {
        "class_id": summary.class_id,
        "title": summary.title,
        "teacher_ids": list(summary.teacher_ids),
        "student_count": summary.student_count,
        "modified_at": summary.modified_at,
    }


@router.get("/classes", response_model=ClassPage)
async def list_classes(
    principal: Staff,
    rosters: Rosters,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """The caller's classes (a teacher: those they teach; an admin: all), by class id,
    with their teachers and student counts."""
    after = None
    if cursor:
        try:
            after = decode_cursor(cursor)
        except ValueError as exc:
            raise UnknownReference(str(exc)) from exc
    page, last = await rosters.classes(Scope.of(principal), after, limit)
    return {
        "items": [_out(s) for s in page],
        "next_cursor": encode_cursor(last) if last else None,
    }


def _no_class(class_id: str) -> NotFound:
    """Also the answer for a class the caller does not teach (ids cannot be probed)."""
    return NotFound(f"no class {class_id!r}")


@router.get(
    "/classes/{class_id}/students",
    response_model=ClassStudentsPage,
    responses={404: problem("no such class (or not one the caller teaches)")},
)
async def class_students(
    class_id: ClassId,
    principal: Staff,
    views: Views,
    sort: Sort = "risk",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """The class's students: overall mastery and level, score per topic, unresolved
    alerts by severity, last activity, mastery change over 7 days and why each is flagged.
    ``sort=risk`` (default) puts first who needs the teacher now: more open high alerts,
    then medium, then falling mastery, then inactivity (docs/api.md)."""
    after = None
    if cursor:
        try:
            after = decode_page(cursor, sort)
        except ValueError as exc:
            raise UnknownReference(str(exc)) from exc
    found = await views.students(Scope.of(principal), class_id, sort, after, limit)
    if found is None:
        raise _no_class(class_id)
    rows, last = found
    return {
        "items": [vars(r) for r in rows],
        "next_cursor": encode_page(sort, last) if last is not None else None,
    }


@router.get(
    "/classes/{class_id}/topics",
    response_model=ClassTopics,
    responses={404: problem("no such class (or not one the caller teaches)")},
)
async def class_topics(class_id: ClassId, principal: Staff, views: Views) -> Any:
    """The class x topic heatmap: per topic, the class's students at each level, mean and
    median score, and how many have an unresolved alert in the topic."""
    topics = await views.topics(Scope.of(principal), class_id)
    if topics is None:
        raise _no_class(class_id)
    return {"class_id": class_id, "topics": topics}


@router.get(
    "/classes/{class_id}/exercises",
    response_model=ClassExercises,
    responses={404: problem("no such class (or not one the caller teaches)")},
)
async def class_exercises(
    class_id: ClassId, principal: Staff, views: Views, settings: CurrentSettings
) -> Any:
    """Per exercise, over the class's students: attempts and pass rate, students who
    started, attempted and passed, median minutes from first start to first pass, the
    three most common error types — from the retained events (the last
    ``PROGRESS_EVENT_RETENTION_DAYS``)."""
    exercises = await views.exercises(Scope.of(principal), class_id)
    if exercises is None:
        raise _no_class(class_id)
    since = datetime.now(UTC) - timedelta(days=settings.event_retention_days)
    return {"class_id": class_id, "since": since, "exercises": exercises}


@router.put(
    "/classes/{class_id}",
    response_model=ClassOut,
    responses={422: problem("an invalid id, title or list")},
)
async def put_class(class_id: ClassId, body: ClassIn, _: Admin, rosters: Rosters) -> Any:
    """Create or replace a class: its title, teachers and students become exactly these
    (idempotent)."""
    roster = Roster(
        class_id=class_id,
        title=body.title,
        teacher_ids=frozenset(body.teacher_ids),
        student_ids=frozenset(body.student_ids),
        modified=datetime.now(UTC),
    )
    await rosters.put(roster)
    return {
        "class_id": class_id,
        "title": body.title,
        "teacher_ids": sorted(roster.teacher_ids),
        "student_count": len(roster.student_ids),
        "modified_at": roster.modified,
    }


@router.delete(
    "/classes/{class_id}",
    status_code=204,
    responses={404: problem("no such class")},
)
async def delete_class(class_id: ClassId, _: Admin, rosters: Rosters) -> Response:
    """Delete a class and its memberships (the students' progress and alerts stay)."""
    if not await rosters.delete(class_id):
        raise NotFound(f"no class {class_id!r}")
    return Response(status_code=204)


@router.post(
    "/rosters/oneroster",
    response_model=ImportResult,
    responses={
        413: problem("the bundle is larger than PROGRESS_MAX_ROSTER_BUNDLE_BYTES (default 50 MiB)"),
        422: problem("the bundle was refused whole; `problems` lists file, line and reason"),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A OneRoster 1.2 CSV bundle: a zip with manifest.csv, "
            "classes.csv, users.csv and enrollments.csv (docs/rosters.md).",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def import_oneroster(
    request: Request, _: Admin, rosters: Rosters, settings: CurrentSettings
) -> Any:
    """Apply a OneRoster 1.2 CSV bundle: files marked `bulk` in its manifest replace,
    files marked `delta` apply record by record. A bundle with any problem changes
    nothing. ``PROGRESS_MAX_ROSTER_BUNDLE_BYTES`` bounds the upload (413 above it) and
    what it unzips to (422)."""
    data = await request.body()
    if not data:
        raise InvalidInput("the request body must be a OneRoster CSV bundle (a zip)")
    try:
        bundle = parse_bundle(data, max_bytes=settings.max_roster_bundle_bytes)
        change = await rosters.change_all(lambda current: apply_bundle(current, bundle))
    except BundleRejected as exc:
        problems = [{"file": p.file, "line": p.line, "reason": p.reason} for p in exc.problems]
        raise InvalidInput(
            f"the bundle was refused ({len(problems)} problem(s)); nothing was applied",
            extensions={"problems": problems},
        ) from exc
    return {
        "classes_written": change.classes_written,
        "classes_deleted": change.classes_deleted,
        "classes_in_bundle": len(bundle.classes),
        "enrollments_in_bundle": len(bundle.enrollments),
    }
