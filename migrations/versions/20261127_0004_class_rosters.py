"""Class rosters: classes, their teachers and their students.

A teacher reaches the students enrolled in a class they teach (docs/api.md, "Who sees
what"); every scoped query joins these two membership tables, so each has an index
starting with the id it is looked up by: the teacher for "whose students", the student
for "who teaches this student".

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE classes (
            class_id text PRIMARY KEY,
            title text NOT NULL,
            modified_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE class_teachers (
            class_id text NOT NULL REFERENCES classes ON DELETE CASCADE,
            teacher_id text NOT NULL,
            PRIMARY KEY (teacher_id, class_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE class_students (
            class_id text NOT NULL REFERENCES classes ON DELETE CASCADE,
            student_id text NOT NULL,
            PRIMARY KEY (class_id, student_id)
        )
        """
    )
    op.execute("CREATE INDEX class_teachers_class ON class_teachers (class_id)")
    op.execute("CREATE INDEX class_students_student ON class_students (student_id, class_id)")


def downgrade() -> None:
    op.execute("DROP TABLE class_students")
    op.execute("DROP TABLE class_teachers")
    op.execute("DROP TABLE classes")
