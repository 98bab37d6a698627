"""Reads and writes of the roster tables, in SQLAlchemy Core.

Every change of rosters (a class put or deleted through the API, a OneRoster import)
runs in one transaction holding the same advisory lock, so an import computed from the
rosters as they were is never written over a change made meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.db import driver
from service.rosters.apply import Roster
from service.rosters.scope import ReachCheck, Scope, class_reach, student_reach
from service.rosters.table import CLASSES, STUDENTS, TEACHERS

# pg_advisory_xact_lock key for "rosters are being changed" (any fixed bigint)
ROSTER_LOCK = 0x524F53544552


@dataclass(frozen=True)
class ClassSummary:
    class_id: str
    title: str
    teacher_ids: tuple[str, ...]
    student_count: int
    modified_at: datetime


@dataclass(frozen=True)
class RosterChange:
    """What an import or a put changed."""

    classes_written: int
    classes_deleted: int


class RosterRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # ------------------------------------------------------------------ reads
    async def classes(
        self, scope: Scope, after: str | None, limit: int
    ) -> tuple[list[ClassSummary], str | None]:
        """The classes ``scope`` reaches (a teacher: those they teach; everyone: all),
        by class id, a page of ``limit`` after the class id ``after``."""
        query = select(CLASSES.c.class_id, CLASSES.c.title, CLASSES.c.modified_at)
        if scope.teacher_id is not None:
            query = query.where(
                CLASSES.c.class_id.in_(
                    select(TEACHERS.c.class_id).where(TEACHERS.c.teacher_id == scope.teacher_id)
                )
            )
        elif scope.student_id is not None:
            query = query.where(
                CLASSES.c.class_id.in_(
                    select(STUDENTS.c.class_id).where(STUDENTS.c.student_id == scope.student_id)
                )
            )
        if after is not None:
            query = query.where(CLASSES.c.class_id > after)
        query = query.order_by(CLASSES.c.class_id).limit(limit + 1)
        async with self._engine.connect() as conn:
            rows = list(await conn.execute(query))
            more = len(rows) > limit
            rows = rows[:limit]
            ids = [r.class_id for r in rows]
            teachers = await _teachers_of(conn, ids)
            counts = await _student_counts(conn, ids)
        page = [
            ClassSummary(
                class_id=r.class_id,
                title=r.title,
                teacher_ids=tuple(sorted(teachers.get(r.class_id, ()))),
                student_count=counts.get(r.class_id, 0),
                modified_at=r.modified_at,
            )
            for r in rows
        ]
        return page, (ids[-1] if more and ids else None)

    async def reaches_class(self, scope: Scope, class_id: str) -> bool:
        """The class exists and ``scope`` may see it (a teacher: teaches it)."""
        return await self._reaches(class_reach(scope, class_id))

    async def reaches_student(self, scope: Scope, student_id: str) -> bool:
        """``scope`` may see ``student_id`` (one indexed lookup for a teacher)."""
        return await self._reaches(student_reach(scope, student_id))

    async def _reaches(self, check: ReachCheck) -> bool:
        if isinstance(check, bool):
            return check
        sql, args = check
        async with self._engine.connect() as conn:
            return bool(await (await driver(conn)).fetchval(sql, *args))

    async def classes_of(self, student_ids: list[str]) -> dict[str, dict[str, int]]:
        """Per student, the classes they are enrolled in with each class's number of
        students (students in no class are left out). One statement for all of them."""
        theirs = select(STUDENTS.c.student_id, STUDENTS.c.class_id).where(
            STUDENTS.c.student_id.in_(student_ids)
        )
        sizes = (
            select(STUDENTS.c.class_id, func.count().label("size"))
            .where(STUDENTS.c.class_id.in_(theirs.with_only_columns(STUDENTS.c.class_id)))
            .group_by(STUDENTS.c.class_id)
            .subquery()
        )
        query = theirs.add_columns(sizes.c.size).join(
            sizes, sizes.c.class_id == STUDENTS.c.class_id
        )
        found: dict[str, dict[str, int]] = {}
        async with self._engine.connect() as conn:
            for student_id, class_id, size in await conn.execute(query):
                found.setdefault(student_id, {})[class_id] = int(size)
        return found

    async def roster(self, class_id: str) -> Roster | None:
        async with self._engine.connect() as conn:
            found = await _rosters(conn, [class_id])
        return found.get(class_id)

    # ----------------------------------------------------------------- writes
    async def put(self, roster: Roster) -> None:
        """Create or replace one class with exactly these teachers and students."""
        async with self._engine.begin() as conn:
            await _lock(conn)
            await _write(conn, [roster])

    async def delete(self, class_id: str) -> bool:
        async with self._engine.begin() as conn:
            await _lock(conn)
            result = await conn.execute(delete(CLASSES).where(CLASSES.c.class_id == class_id))
        return bool(result.rowcount)

    async def change_all(
        self, change: Callable[[Mapping[str, Roster]], Mapping[str, Roster]]
    ) -> RosterChange:
        """Read every roster, let ``change`` compute the new set (pure: e.g. a OneRoster
        bundle applied), write the difference — one transaction under the roster lock.
        If ``change`` raises, nothing is written."""
        async with self._engine.begin() as conn:
            await _lock(conn)
            ids = [r.class_id for r in await conn.execute(select(CLASSES.c.class_id))]
            before = await _rosters(conn, ids)
            after = change(before)
            gone = [cid for cid in before if cid not in after]
            changed = [r for cid, r in after.items() if before.get(cid) != r]
            if gone:
                await conn.execute(delete(CLASSES).where(CLASSES.c.class_id.in_(gone)))
            await _write(conn, changed)
        return RosterChange(classes_written=len(changed), classes_deleted=len(gone))


async def _lock(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROSTER_LOCK})


async def _write(conn: AsyncConnection, rosters: Iterable[Roster]) -> None:
    """Upsert each class and replace its memberships (bulk statements)."""
    rosters = list(rosters)
    if not rosters:
        return
    ids = [r.class_id for r in rosters]
    upsert = pg_insert(CLASSES).values(
        [{"class_id": r.class_id, "title": r.title, "modified_at": r.modified} for r in rosters]
    )
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[CLASSES.c.class_id],
            set_={"title": upsert.excluded.title, "modified_at": upsert.excluded.modified_at},
        )
    )
    await conn.execute(delete(TEACHERS).where(TEACHERS.c.class_id.in_(ids)))
    await conn.execute(delete(STUDENTS).where(STUDENTS.c.class_id.in_(ids)))
    teachers = [{"class_id": r.class_id, "teacher_id": t} for r in rosters for t in r.teacher_ids]
    students = [{"class_id": r.class_id, "student_id": s} for r in rosters for s in r.student_ids]
    if teachers:
        await conn.execute(TEACHERS.insert(), teachers)
    if students:
        await conn.execute(STUDENTS.insert(), students)


async def _rosters(conn: AsyncConnection, class_ids: list[str]) -> dict[str, Roster]:
    if not class_ids:
        return {}
    rows = list(
        await conn.execute(
            select(CLASSES.c.class_id, CLASSES.c.title, CLASSES.c.modified_at).where(
                CLASSES.c.class_id.in_(class_ids)
            )
        )
    )
    teachers = await _teachers_of(conn, class_ids)
    students: dict[str, set[str]] = {}
    query = select(STUDENTS.c.class_id, STUDENTS.c.student_id).where(
        STUDENTS.c.class_id.in_(class_ids)
    )
    for class_id, student_id in await conn.execute(query):
        students.setdefault(class_id, set()).add(student_id)
    return {
        r.class_id: Roster(
            class_id=r.class_id,
            title=r.title,
            teacher_ids=frozenset(teachers.get(r.class_id, ())),
            student_ids=frozenset(students.get(r.class_id, ())),
            modified=r.modified_at,
        )
        for r in rows
    }


async def _teachers_of(conn: AsyncConnection, class_ids: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    if class_ids:
        query = select(TEACHERS.c.class_id, TEACHERS.c.teacher_id).where(
            TEACHERS.c.class_id.in_(class_ids)
        )
        for class_id, teacher_id in await conn.execute(query):
            out.setdefault(class_id, set()).add(teacher_id)
    return out


async def _student_counts(conn: AsyncConnection, class_ids: list[str]) -> dict[str, int]:
    if not class_ids:
        return {}
    query = (
        select(STUDENTS.c.class_id, func.count())
        .where(STUDENTS.c.class_id.in_(class_ids))
        .group_by(STUDENTS.c.class_id)
    )
    return {class_id: int(n) for class_id, n in await conn.execute(query)}
