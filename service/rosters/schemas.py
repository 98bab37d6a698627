"""Request and response bodies of the class routes (OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN
from service import cursors

PersonId = Annotated[
    str, Field(min_length=1, max_length=STUDENT_ID_MAX, pattern=STUDENT_ID_PATTERN)
]


class ClassIn(BaseModel):
    """A class as a whole: PUT replaces its title, teachers and students."""

    # no NUL: PostgreSQL's text cannot hold it (a title with one was a 500)
    title: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")
    teacher_ids: list[PersonId] = Field(
        default_factory=list,
        max_length=50,
        description="the `sub` of each teacher's token; repeats are ignored",
    )
    student_ids: list[PersonId] = Field(
        default_factory=list,
        max_length=2000,
        description="the `student_id` of the students' events; repeats are ignored",
    )


class ClassOut(BaseModel):
    class_id: str
    title: str
    teacher_ids: list[str]
    student_count: int
    modified_at: datetime


class ClassPage(BaseModel):
    items: list[ClassOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class BundleProblemOut(BaseModel):
    file: str
    line: int | None
    reason: str


class ImportResult(BaseModel):
    classes_written: int = Field(description="classes created or changed")
    classes_deleted: int
    classes_in_bundle: int
    enrollments_in_bundle: int


def encode_cursor(class_id: str) -> str:
    return cursors.encode(class_id)


def decode_cursor(cursor: str) -> str:
    class_id = cursors.decode(cursor)
    if not isinstance(class_id, str):
        raise ValueError("cursor is not one this API issued")
    return class_id
