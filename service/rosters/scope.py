"""Who a caller may see, as a SQL condition on a student id column.

An admin sees every student; a teacher the students enrolled in a class they teach; a
student only themself. Routes turn the caller into a :class:`Scope` once and hand it to
the repositories, which put :meth:`Scope.students` into their queries: the scope is
applied by PostgreSQL, never by filtering pages in Python (docs/api.md, "Who sees what").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, Table, or_, select, true

from service.auth import Principal
from service.rosters.table import STUDENTS, TEACHERS


def taught_by(teacher_id: str) -> Select[tuple[str]]:
    """The ids of the students enrolled in the classes ``teacher_id`` teaches."""
    return (
        select(STUDENTS.c.student_id)
        .join(TEACHERS, TEACHERS.c.class_id == STUDENTS.c.class_id)
        .where(TEACHERS.c.teacher_id == teacher_id)
    )


def enrolled_in(class_id: str) -> Select[tuple[str]]:
    return select(STUDENTS.c.student_id).where(STUDENTS.c.class_id == class_id)


def classes_taught_by(teacher_id: str) -> Select[tuple[str]]:
    return select(TEACHERS.c.class_id).where(TEACHERS.c.teacher_id == teacher_id)


def of_class(alerts: Table, class_id: str) -> ColumnElement[bool]:
    """An alert of ``alerts`` (the struggle alert table) about ``class_id``: of one of its
    students, or about the class itself."""
    return or_(alerts.c.student_id.in_(enrolled_in(class_id)), alerts.c.class_id == class_id)


@dataclass(frozen=True)
class Scope:
    """Everyone (neither field set), a teacher's students, or one student."""

    teacher_id: str | None = None
    student_id: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Scope:
        if principal.role == "teacher":
            return cls(teacher_id=principal.subject)
        if principal.role == "student":
            return cls(student_id=principal.subject)
        return cls()

    @property
    def everyone(self) -> bool:
        return self.teacher_id is None and self.student_id is None

    def alerts(self, alerts: Table) -> ColumnElement[bool]:
        """An alert of ``alerts`` (the struggle alert table) this scope may see: about a
        student it reaches, or about a class it reaches (a teacher: teaches it; an
        admin: any; a student: none)."""
        if self.teacher_id is not None:
            return or_(
                self.students(alerts.c.student_id),
                alerts.c.class_id.in_(classes_taught_by(self.teacher_id)),
            )
        return self.students(alerts.c.student_id)

    def students(self, column: ColumnElement[str]) -> ColumnElement[bool]:
        """``column`` (a student id) is one this scope may see."""
        if self.teacher_id is not None:
            return column.in_(taught_by(self.teacher_id))
        if self.student_id is not None:
            return column == self.student_id
        return true()


ReachCheck = tuple[str, tuple[str, ...]] | bool
"""A reach check: known without the database (a bool), or one ``SELECT EXISTS``
statement with its arguments (asyncpg's ``$n`` parameters)."""

_CLASS_EXISTS = "SELECT EXISTS (SELECT 1 FROM classes WHERE class_id = $1)"
_CLASS_TAUGHT = (
    "SELECT EXISTS (SELECT 1 FROM class_teachers WHERE class_id = $1 AND teacher_id = $2)"
)
_STUDENT_TAUGHT = (
    "SELECT EXISTS (SELECT 1 FROM class_students s JOIN class_teachers t USING (class_id)"
    " WHERE s.student_id = $1 AND t.teacher_id = $2)"
)


def class_reach(scope: Scope, class_id: str) -> ReachCheck:
    """Whether the class exists and ``scope`` may see it (a teacher: teaches it; a
    student sees no class view)."""
    if scope.student_id is not None:
        return False
    if scope.teacher_id is not None:
        return _CLASS_TAUGHT, (class_id, scope.teacher_id)
    return _CLASS_EXISTS, (class_id,)


def student_reach(scope: Scope, student_id: str) -> ReachCheck:
    """Whether ``scope`` may see ``student_id``: known without the database for an admin
    or a student, one indexed lookup for a teacher."""
    if scope.everyone:
        return True
    if scope.student_id is not None:
        return scope.student_id == student_id
    assert scope.teacher_id is not None
    return _STUDENT_TAUGHT, (student_id, scope.teacher_id)


EVERYONE = Scope()
"""The admin's scope, and the default of repository methods called outside requests."""
