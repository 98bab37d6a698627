"""Reading a OneRoster 1.2 CSV bundle: who teaches and who is enrolled in which class.

A school's student information system exports its rosters as a OneRoster 1.2 CSV bundle
(1EdTech, "OneRoster: CSV Binding 1.2", https://www.imsglobal.org/spec/oneroster/v1p2/bind/csv):
a zip of CSV files described by ``manifest.csv``. The service reads three of them, to know
which students a teacher may see (service/rosters/scope.py): ``classes.csv``, ``users.csv``
and ``enrollments.csv``. Every other file of the bundle (orgs, courses, academic sessions,
roles, demographics...) is ignored. This module parses and validates; ``apply.py`` applies
a bundle to the stored rosters. Pure: no database, no HTTP, the zip is read in memory.

Ids. A class's ``sourcedId`` is the service's ``class_id``. A user's ``sourcedId`` IS the
``student_id`` of learning events and the ``sub`` claim of that person's token, teacher or
student: the bundle, the event stream and the identity provider must use the same id.

Roles (``enrollments.csv`` ``role``; OneRoster 1.2 permits administrator, proctor, student,
teacher, and ``ext:`` extensions): ``teacher`` -> teacher, ``student`` -> student. Every
other role is skipped, not an error: a class administrator or an exam proctor is not the
class's teacher, and seeing students' progress is a teacher's right only (operators see
everyone through their own role). The OneRoster 1.0 roles aide, guardian, parent and
relative, still sent by some exporters, are skipped too.

Tolerated: a UTF-8 byte order mark, CRLF line ends, blank lines, columns in any order,
columns this service does not use (header names are matched exactly, case-sensitively, as
the spec says), empty ``status`` (active) and ``dateLastModified`` (:data:`UNDATED`) in
bulk files. Refused, with every problem found at once: see :func:`parse_bundle`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal, TypeVar

from actors.vocabulary import STUDENT_ID_MAX, STUDENT_ID_PATTERN

Mode = Literal["bulk", "delta", "absent"]
Status = Literal["active", "tobedeleted"]
Role = Literal["teacher", "student"]

_MODES: dict[str, Mode] = {"bulk": "bulk", "delta": "delta", "absent": "absent"}
_STATUSES: dict[str, Status] = {"active": "active", "tobedeleted": "tobedeleted"}
# OneRoster 1.2 enrollment roles, and the 1.0 ones some exporters still send; see above.
_SKIPPED_ROLES = ("administrator", "proctor", "aide", "guardian", "parent", "relative")
_ROLES: dict[str, Role | None] = {"teacher": "teacher", "student": "student"}
_ROLES.update(dict.fromkeys(_SKIPPED_ROLES))
_BOOLEANS = {"true": True, "false": False}
_STUDENT_ID = re.compile(STUDENT_ID_PATTERN)

# The date of a bulk row without ``dateLastModified``: older than any dated delta row.
UNDATED = datetime(1970, 1, 1, tzinfo=UTC)
EXAMPLE_DATE = "2026-09-01T08:00:00.000Z"

MANIFEST = "manifest.csv"
DATA_FILES = ("classes", "users", "enrollments")
_COMMON = ("sourcedId", "status", "dateLastModified")
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "manifest": ("propertyName", "value"),
    "classes": (*_COMMON, "title"),
    "users": (*_COMMON, "enabledUser"),
    "enrollments": (*_COMMON, "classSourcedId", "userSourcedId", "role"),
}
# What reading a zip member may raise: corrupt data, encryption, unknown compression.
_UNREADABLE = (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error)


@dataclass(frozen=True)
class BundleProblem:
    """One reason a bundle is refused."""

    file: str  # e.g. "enrollments.csv", or "bundle" for the zip itself
    line: int | None  # 1-based line in that file (the header is line 1); None: the file
    reason: str  # plain English, says what to fix

    def __str__(self) -> str:
        return f"{self.file}{'' if self.line is None else f':{self.line}'}: {self.reason}"


class BundleRejected(Exception):
    """The bundle is refused as a whole; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[BundleProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(map(str, self.problems)))


@dataclass(frozen=True)
class ClassRecord:
    class_id: str
    title: str
    status: Status
    modified: datetime  # tz-aware, UTC
    line: int = field(compare=False)


@dataclass(frozen=True)
class EnrollmentRecord:
    enrollment_id: str
    class_id: str
    user_id: str
    role: Role
    status: Status
    modified: datetime
    line: int = field(compare=False)


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    status: Status
    enabled: bool
    modified: datetime
    line: int = field(compare=False)


@dataclass(frozen=True)
class RosterBundle:
    modes: Mapping[str, Mode]  # "classes", "users", "enrollments" -> mode
    classes: tuple[ClassRecord, ...]
    users: tuple[UserRecord, ...]
    enrollments: tuple[EnrollmentRecord, ...]


@dataclass(frozen=True)
class _Row:
    file: str
    line: int
    values: Mapping[str, str]


@dataclass(frozen=True)
class _Zip:
    files: Mapping[str, bytes]  # the root files this module reads, by name
    nested: Mapping[str, str]  # the same names found in a folder instead: name -> path


class _Problems(list[BundleProblem]):
    def add(self, file: str, line: int | None, reason: str) -> None:
        self.append(BundleProblem(file, line, reason))


def parse_bundle(data: bytes, *, max_bytes: int = 50 * 1024 * 1024) -> RosterBundle:
    """The bundle's classes, users and enrollments, or :class:`BundleRejected` with every
    problem found: not a zip, or more than ``max_bytes`` zipped or unzipped; manifest.csv
    missing, ``oneroster.version`` not 1.2, a ``file.classes``/``users``/``enrollments``
    mode missing or not bulk, delta or absent; a file not marked absent missing from the
    zip's root or without data rows; a required column missing or a column named twice; a
    row with the wrong number of fields, an empty required value, an unknown status, role
    or enabledUser, a date that is not ISO 8601 with a time zone, a sourcedId seen twice in
    a file, a student id the service cannot use; an active enrollment to a class or user
    missing from classes.csv or users.csv when that file is bulk."""
    problems = _Problems()
    bundle = _unzip(data, max_bytes, problems)
    if bundle is None:
        raise BundleRejected(problems)
    manifest = _table(MANIFEST, bundle, COLUMNS["manifest"], problems)
    modes = _modes(manifest, problems) if manifest is not None else None
    if modes is None:
        raise BundleRejected(problems)
    rows = {
        name: _table(f"{name}.csv", bundle, COLUMNS[name], problems)
        for name in DATA_FILES
        if modes[name] != "absent"
    }
    classes = _records(rows.get("classes"), modes["classes"], _class, problems)
    users = _records(rows.get("users"), modes["users"], _user, problems)
    enrollments = _records(rows.get("enrollments"), modes["enrollments"], _enrollment, problems)
    _check_references(enrollments, rows, modes, problems)
    if problems:
        raise BundleRejected(problems)
    return RosterBundle(MappingProxyType(modes), classes, users, enrollments)


def _unzip(data: bytes, max_bytes: int, problems: _Problems) -> _Zip | None:
    if len(data) > max_bytes:
        problems.add("bundle", None, f"is {len(data)} bytes, over the {max_bytes}-byte limit")
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        problems.add("bundle", None, "is not a zip file: zip the OneRoster CSV files together")
        return None
    wanted = {MANIFEST, *(f"{name}.csv" for name in DATA_FILES)}
    files: dict[str, bytes] = {}
    nested: dict[str, str] = {}
    budget = max_bytes
    with archive:
        for info in archive.infolist():
            name = info.filename.rsplit("/", 1)[-1]
            if name not in wanted or info.is_dir():
                continue
            if info.filename != name:
                nested.setdefault(name, info.filename)
                continue
            try:
                with archive.open(info) as member:
                    files[name] = member.read(budget + 1)
            except _UNREADABLE as exc:
                problems.add(name, None, f"cannot be read from the zip ({exc}); zip it again")
                return None
            budget -= len(files[name])
            if budget < 0:
                problems.add("bundle", None, f"unzips to more than {max_bytes} bytes")
                return None
    return _Zip(files, nested)


def _table(
    name: str, bundle: _Zip, columns: tuple[str, ...], problems: _Problems
) -> list[_Row] | None:
    """The data rows of one CSV file, or None when the file cannot be read at all."""
    content = bundle.files.get(name)
    if content is None:
        where = bundle.nested.get(name)
        problems.add(
            name,
            None,
            "is missing from the zip"
            if where is None
            else f"must be at the root of the zip, not at {where!r}",
        )
        return None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(name, None, f"is not UTF-8 (byte {exc.start}): save it as UTF-8")
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[_Row] = []
    try:
        header = next(reader, [])
        if not _header_ok(name, header, columns, problems):
            return None
        start = reader.line_num + 1
        for values in reader:
            line, start = start, reader.line_num + 1
            if not values:
                continue  # a blank line
            if len(values) != len(header):
                problems.add(name, line, f"has {len(values)} fields; the header has {len(header)}")
                continue
            rows.append(_Row(name, line, dict(zip(header, values, strict=True))))
    except csv.Error as exc:
        problems.add(name, reader.line_num, f"is not valid CSV: {exc}")
        return None
    if not rows:
        problems.add(name, None, "has no data rows; to send none, mark it absent in manifest.csv")
    return rows


def _header_ok(name: str, header: list[str], columns: tuple[str, ...], problems: _Problems) -> bool:
    if not header:
        problems.add(name, None, "is empty: it needs a header row, then data rows")
        return False
    twice = sorted({column for column in header if header.count(column) > 1})
    for column in twice:
        problems.add(name, 1, f"names the column {column!r} twice; names must be unique")
    missing = [column for column in columns if column not in header]
    for column in missing:
        near = [found for found in header if found.lower() == column.lower()]
        hint = f" (found {near[0]!r}: names are case-sensitive)" if near else ""
        problems.add(name, 1, f"has no {column!r} column{hint}; add it to the header")
    return not twice and not missing


def _modes(rows: list[_Row], problems: _Problems) -> dict[str, Mode] | None:
    """Each data file's mode; None when one is missing or unknown (nothing can be read)."""
    properties: dict[str, _Row] = {}
    for row in rows:
        name = row.values["propertyName"]
        if name in properties:
            first = properties[name].line
            problems.add(MANIFEST, row.line, f"repeats {name!r} (first on line {first})")
        properties.setdefault(name, row)
    version = properties.get("oneroster.version")
    if version is None:
        problems.add(MANIFEST, None, "has no oneroster.version row; add one with the value 1.2")
    elif not version.values["value"].startswith("1.2"):
        found = version.values["value"]
        problems.add(MANIFEST, version.line, f"says oneroster.version {found!r}; send 1.2")
    modes: dict[str, Mode] = {}
    for name in DATA_FILES:
        entry = properties.get(f"file.{name}")
        if entry is None:
            problems.add(MANIFEST, None, f"has no file.{name} row; add one: bulk, delta or absent")
        elif (mode := _MODES.get(entry.values["value"])) is None:
            found = entry.values["value"]
            problems.add(
                MANIFEST, entry.line, f"file.{name} is {found!r}; use bulk, delta or absent"
            )
        else:
            modes[name] = mode
    return modes if len(modes) == len(DATA_FILES) else None


_T = TypeVar("_T")


def _records(
    rows: list[_Row] | None,
    mode: Mode,
    build: Callable[[_Row, Mode, _Problems], _T | None],
    problems: _Problems,
) -> tuple[_T, ...]:
    if rows is None:
        return ()
    first: dict[str, int] = {}
    for row in rows:
        sourced_id = row.values["sourcedId"]
        if sourced_id and first.setdefault(sourced_id, row.line) != row.line:
            line = first[sourced_id]
            problems.add(row.file, row.line, f"repeats sourcedId {sourced_id!r} (line {line})")
    built = (build(row, mode, problems) for row in rows)
    return tuple(record for record in built if record is not None)


def _class(row: _Row, mode: Mode, problems: _Problems) -> ClassRecord | None:
    class_id = _required(row, "sourcedId", problems)
    title = _required(row, "title", problems)
    status = _status(row, mode, problems)
    modified = _modified(row, mode, problems)
    if class_id is not None and not _usable_student_id(class_id):
        rule = f"at most {STUDENT_ID_MAX} letters, digits and _ . : @ -"
        problems.add(row.file, row.line, f"sourcedId {class_id!r} is no class id: {rule}")
        return None
    if class_id is None or title is None or status is None or modified is None:
        return None
    return ClassRecord(class_id, title, status, modified, line=row.line)


def _user(row: _Row, mode: Mode, problems: _Problems) -> UserRecord | None:
    user_id = _required(row, "sourcedId", problems)
    status = _status(row, mode, problems)
    modified = _modified(row, mode, problems)
    enabled = _BOOLEANS.get(row.values["enabledUser"])
    if enabled is None:
        found = row.values["enabledUser"]
        problems.add(row.file, row.line, f"enabledUser {found!r} is not true or false")
    if user_id is None or status is None or modified is None or enabled is None:
        return None
    return UserRecord(user_id, status, enabled, modified, line=row.line)


def _enrollment(row: _Row, mode: Mode, problems: _Problems) -> EnrollmentRecord | None:
    enrollment_id = _required(row, "sourcedId", problems)
    class_id = _required(row, "classSourcedId", problems)
    user_id = _required(row, "userSourcedId", problems)
    status = _status(row, mode, problems)
    modified = _modified(row, mode, problems)
    found = row.values["role"]
    if found not in _ROLES and not found.startswith("ext:"):
        known = "administrator, proctor, student, teacher or ext:..."
        problems.add(row.file, row.line, f"role {found!r} is not one of {known}")
    role = _ROLES.get(found)  # None: a role the service has no use for, skipped
    if role == "student" and user_id is not None and not _usable_student_id(user_id):
        rule = f"at most {STUDENT_ID_MAX} letters, digits and _ . : @ -"
        problems.add(row.file, row.line, f"userSourcedId {user_id!r} is no student id: {rule}")
        return None
    if enrollment_id is None or class_id is None or user_id is None or role is None:
        return None  # a role skipped, or a problem reported
    if status is None or modified is None:
        return None
    return EnrollmentRecord(enrollment_id, class_id, user_id, role, status, modified, row.line)


def _required(row: _Row, column: str, problems: _Problems) -> str | None:
    value = row.values[column]
    if value == "":
        problems.add(row.file, row.line, f"{column} is empty; every row needs one")
        return None
    return value


def _status(row: _Row, mode: Mode, problems: _Problems) -> Status | None:
    found = row.values["status"]
    if found == "" and mode == "bulk":
        return "active"
    status = _STATUSES.get(found)
    if status is None:
        problems.add(row.file, row.line, f"status {found!r} is not active or tobedeleted")
    return status


def _modified(row: _Row, mode: Mode, problems: _Problems) -> datetime | None:
    found = row.values["dateLastModified"]
    if found == "" and mode == "bulk":
        return UNDATED
    try:
        modified = datetime.fromisoformat(found)
    except ValueError:
        reason = f"dateLastModified {found!r} is not an ISO 8601 time such as {EXAMPLE_DATE}"
        problems.add(row.file, row.line, reason)
        return None
    if modified.tzinfo is None:
        reason = f"dateLastModified {found!r} has no time zone: end it with Z or e.g. +02:00"
        problems.add(row.file, row.line, reason)
        return None
    return modified.astimezone(UTC)


def _usable_student_id(user_id: str) -> bool:
    return len(user_id) <= STUDENT_ID_MAX and _STUDENT_ID.fullmatch(user_id) is not None


def _check_references(
    enrollments: Iterable[EnrollmentRecord],
    rows: Mapping[str, list[_Row] | None],
    modes: Mapping[str, Mode],
    problems: _Problems,
) -> None:
    """A bulk classes.csv or users.csv is complete: active enrollments must point into it."""
    for name, column in (("classes", "classSourcedId"), ("users", "userSourcedId")):
        table = rows.get(name)
        if modes[name] != "bulk" or table is None:
            continue
        known = {row.values["sourcedId"] for row in table}
        for enrollment in enrollments:
            target = enrollment.class_id if name == "classes" else enrollment.user_id
            if enrollment.status == "active" and target not in known:
                reason = f"{column} {target!r} is not in {name}.csv (bulk): add it there"
                problems.add("enrollments.csv", enrollment.line, reason)
