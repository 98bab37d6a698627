"""Applying a parsed OneRoster bundle (oneroster.py) to the stored class rosters: pure,
from the rosters as they are to the rosters as they will be; storing them is the caller's
job, in one transaction, so that a bundle is applied whole or not at all."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from service.rosters.oneroster import (
    BundleProblem,
    BundleRejected,
    ClassRecord,
    EnrollmentRecord,
    Mode,
    Role,
    RosterBundle,
    UserRecord,
)


@dataclass(frozen=True)
class Roster:
    """One class as the service stores it."""

    class_id: str
    title: str
    teacher_ids: frozenset[str]
    student_ids: frozenset[str]
    modified: datetime  # the class record's dateLastModified


@dataclass
class _Draft:
    title: str
    modified: datetime
    members: dict[Role, set[str]] = field(
        default_factory=lambda: {"teacher": set(), "student": set()}
    )


def apply_bundle(current: Mapping[str, Roster], bundle: RosterBundle) -> dict[str, Roster]:
    """The rosters after ``bundle``, by class id; ``current`` is left as it is.

    Files are applied in order: classes, then enrollments, then users, each by its mode:

    - ``bulk`` classes: the bundle's active classes replace all classes; a class absent
      from the file is gone, a class kept keeps its members (unless enrollments say
      otherwise). ``bulk`` enrollments: the bundle's active enrollments are the complete
      membership of every class. ``bulk`` users: the file is every user; anyone else is
      removed from every class.
    - ``delta``: records are applied on top of what is stored: ``active`` adds or updates,
      ``tobedeleted`` removes; a deleted class loses its memberships. A delta class record
      older than the stored class (``modified`` earlier) changes nothing.
    - ``absent``: that file changes nothing.

    A user whose record is ``tobedeleted`` or has ``enabledUser`` false is removed from
    every class, as teacher and as student. An active enrollment to a class that does not
    exist once the classes file is applied refuses the bundle (:class:`BundleRejected`,
    with the enrollment's line); parse_bundle already refused it when classes are bulk.
    """
    drafts = {
        class_id: _Draft(roster.title, roster.modified, _members(roster))
        for class_id, roster in current.items()
    }
    _apply_classes(drafts, bundle.classes, bundle.modes["classes"])
    problems = _apply_enrollments(drafts, bundle.enrollments, bundle.modes["enrollments"])
    if problems:
        raise BundleRejected(problems)
    _apply_users(drafts, bundle.users, bundle.modes["users"])
    return {
        class_id: Roster(
            class_id,
            draft.title,
            frozenset(draft.members["teacher"]),
            frozenset(draft.members["student"]),
            draft.modified,
        )
        for class_id, draft in drafts.items()
    }


def _members(roster: Roster) -> dict[Role, set[str]]:
    return {"teacher": set(roster.teacher_ids), "student": set(roster.student_ids)}


def _apply_classes(drafts: dict[str, _Draft], records: Iterable[ClassRecord], mode: Mode) -> None:
    if mode == "bulk":
        kept = {
            record.class_id: _Draft(record.title, record.modified, _kept_members(drafts, record))
            for record in records
            if record.status == "active"
        }
        drafts.clear()
        drafts.update(kept)
    elif mode == "delta":
        for record in records:
            stored = drafts.get(record.class_id)
            if stored is not None and record.modified < stored.modified:
                continue  # older than what is stored
            if record.status == "tobedeleted":
                drafts.pop(record.class_id, None)
            elif stored is None:
                drafts[record.class_id] = _Draft(record.title, record.modified)
            else:
                stored.title, stored.modified = record.title, record.modified


def _kept_members(drafts: Mapping[str, _Draft], record: ClassRecord) -> dict[Role, set[str]]:
    stored = drafts.get(record.class_id)
    return {"teacher": set(), "student": set()} if stored is None else stored.members


def _apply_enrollments(
    drafts: Mapping[str, _Draft], records: Iterable[EnrollmentRecord], mode: Mode
) -> list[BundleProblem]:
    if mode == "absent":
        return []
    if mode == "bulk":
        for emptied in drafts.values():
            emptied.members = {"teacher": set(), "student": set()}
    problems: list[BundleProblem] = []
    for record in records:
        draft = drafts.get(record.class_id)
        if record.status == "tobedeleted":
            if draft is not None and mode == "delta":
                draft.members[record.role].discard(record.user_id)
        elif draft is None:
            reason = f"classSourcedId {record.class_id!r} is not a class after classes.csv"
            problems.append(BundleProblem("enrollments.csv", record.line, reason))
        else:
            draft.members[record.role].add(record.user_id)
    return problems


def _apply_users(drafts: Mapping[str, _Draft], records: Iterable[UserRecord], mode: Mode) -> None:
    if mode == "absent":
        return
    users = list(records)
    gone = {user.user_id for user in users if user.status == "tobedeleted" or not user.enabled}
    known = {user.user_id for user in users} - gone
    for draft in drafts.values():
        for members in draft.members.values():
            members.difference_update(gone)
            if mode == "bulk":
                members.intersection_update(known)
