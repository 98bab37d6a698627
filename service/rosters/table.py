"""The roster tables (SQLModel): classes, their teachers, their students. Created by the
Alembic migration 0004, never by ``create_all``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, FetchedValue, ForeignKey, Text
from sqlmodel import Field, SQLModel


class SchoolClass(SQLModel, table=True):
    __tablename__ = "classes"

    class_id: str = Field(sa_column=Column(Text, primary_key=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    modified_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=FetchedValue()),
    )


class ClassTeacher(SQLModel, table=True):
    __tablename__ = "class_teachers"

    teacher_id: str = Field(sa_column=Column(Text, primary_key=True))
    class_id: str = Field(
        sa_column=Column(Text, ForeignKey("classes.class_id", ondelete="CASCADE"), primary_key=True)
    )


class ClassStudent(SQLModel, table=True):
    __tablename__ = "class_students"

    class_id: str = Field(
        sa_column=Column(Text, ForeignKey("classes.class_id", ondelete="CASCADE"), primary_key=True)
    )
    student_id: str = Field(sa_column=Column(Text, primary_key=True))


CLASSES = SchoolClass.__table__  # type: ignore[attr-defined]
TEACHERS = ClassTeacher.__table__  # type: ignore[attr-defined]
STUDENTS = ClassStudent.__table__  # type: ignore[attr-defined]
