"""OneRoster 1.2 CSV bundles: parsing and validation (service/rosters/oneroster.py) and
their application to the stored rosters (service/rosters/apply.py). Bundles are zipped in
memory; a refused bundle must name the file, the line and what to fix."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.rosters.apply import Roster, apply_bundle
from service.rosters.oneroster import (
    UNDATED,
    BundleProblem,
    BundleRejected,
    ClassRecord,
    EnrollmentRecord,
    Mode,
    Role,
    RosterBundle,
    Status,
    UserRecord,
    parse_bundle,
)

T0 = datetime(2026, 9, 1, 8, tzinfo=UTC)
DAY1 = "2026-09-01T08:00:00.000Z"
DAY2 = "2026-09-02T08:00:00.000Z"


def csv_text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def manifest(version: str = "1.2", **modes: str) -> str:
    modes = {"classes": "bulk", "users": "bulk", "enrollments": "bulk", **modes}
    return csv_text(
        "propertyName,value",
        "manifest.version,1.0",
        f"oneroster.version,{version}",
        *(f"file.{name},{mode}" for name, mode in modes.items()),
        "file.orgs,bulk",
    )


CLASSES = csv_text(
    "sourcedId,status,dateLastModified,title,courseSourcedId,classType,schoolSourcedId",
    "c1,,,Python 1,k1,scheduled,sch1",
    "c2,,,Python 2,k1,scheduled,sch1",
)
USERS = csv_text(
    "sourcedId,status,dateLastModified,enabledUser,username,givenName,familyName",
    *(f"{user},,,true,{user},Ada,Lovelace" for user in ("t1", "t2", "s1", "s2", "s3", "g1")),
)
ENROLLMENTS = csv_text(
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary",
    "e1,,,c1,sch1,t1,teacher,true",
    "e2,,,c1,sch1,s1,student,",
    "e3,,,c1,sch1,s2,student,",
    "e4,,,c2,sch1,t2,teacher,true",
    "e5,,,c2,sch1,s3,student,",
)
DELTA_CLASSES = "sourcedId,status,dateLastModified,title"
DELTA_USERS = "sourcedId,status,dateLastModified,enabledUser"
DELTA_ENROLLMENTS = "sourcedId,status,dateLastModified,classSourcedId,userSourcedId,role"


def zipped(files: Mapping[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def bulk(**files: str | bytes) -> bytes:
    """The bulk bundle above, with some files replaced (keys: file names without .csv)."""
    base: dict[str, str | bytes] = {
        "manifest": manifest(),
        "classes": CLASSES,
        "users": USERS,
        "enrollments": ENROLLMENTS,
        "orgs": "sourcedId,status,dateLastModified,name,type\nsch1,,,School,school\n",
    }
    return zipped({f"{name}.csv": content for name, content in (base | files).items()})


def delta(**files: str) -> RosterBundle:
    """A bundle of delta files; a file not given is absent."""
    modes = {name: "delta" if name in files else "absent" for name in ("classes", "users")}
    modes["enrollments"] = "delta" if "enrollments" in files else "absent"
    contents = {f"{name}.csv": content for name, content in files.items()}
    return parse_bundle(zipped({"manifest.csv": manifest(**modes), **contents}))


def problems_of(data: bytes) -> tuple[BundleProblem, ...]:
    with pytest.raises(BundleRejected) as caught:
        parse_bundle(data)
    return caught.value.problems


def view(rosters: Mapping[str, Roster]) -> dict[str, tuple[str, set[str], set[str]]]:
    return {
        class_id: (roster.title, set(roster.teacher_ids), set(roster.student_ids))
        for class_id, roster in rosters.items()
    }


def roster(class_id: str, teachers: set[str], students: set[str], title: str = "") -> Roster:
    return Roster(class_id, title or class_id, frozenset(teachers), frozenset(students), T0)


BULK_VIEW = {
    "c1": ("Python 1", {"t1"}, {"s1", "s2"}),
    "c2": ("Python 2", {"t2"}, {"s3"}),
}


# Good bundles


def test_a_bulk_bundle_is_read_with_blank_status_as_active() -> None:
    bundle = parse_bundle(bulk())

    assert dict(bundle.modes) == {"classes": "bulk", "users": "bulk", "enrollments": "bulk"}
    assert bundle.classes[0] == ClassRecord("c1", "Python 1", "active", UNDATED, line=2)
    assert bundle.users[0] == UserRecord("t1", "active", True, UNDATED, line=2)
    assert bundle.enrollments[1] == EnrollmentRecord(
        "e2", "c1", "s1", "student", "active", UNDATED, line=3
    )
    assert [e.line for e in bundle.enrollments] == [2, 3, 4, 5, 6]


def test_a_bulk_bundle_replaces_every_roster() -> None:
    current = {"c1": roster("c1", {"old"}, {"s9"}, "Old"), "c9": roster("c9", {"t1"}, set())}

    assert view(apply_bundle(current, parse_bundle(bulk()))) == BULK_VIEW


def test_a_bom_and_crlf_line_ends_are_tolerated() -> None:
    def windows(text: str) -> bytes:
        return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()

    data = bulk(
        manifest=windows(manifest()),
        classes=windows(CLASSES),
        users=windows(USERS),
        enrollments=windows(ENROLLMENTS),
    )

    assert parse_bundle(data) == parse_bundle(bulk())


def test_columns_in_another_order_and_unknown_columns_are_accepted() -> None:
    classes = csv_text(
        "metadata.room,title,sourcedId,classCode,dateLastModified,status",
        "B12,Python 1,c1,PY1,,active",
        'B13,"Python 2, the sequel",c2,PY2,2026-09-01T10:00:00+02:00,',
    )

    bundle = parse_bundle(bulk(classes=classes))

    assert [(c.class_id, c.title) for c in bundle.classes] == [
        ("c1", "Python 1"),
        ("c2", "Python 2, the sequel"),
    ]
    assert bundle.classes[1].modified == T0  # an offset is turned into UTC


def test_a_delta_adds_a_class_renames_one_and_removes_an_enrollment() -> None:
    current = apply_bundle({}, parse_bundle(bulk()))
    bundle = delta(
        classes=csv_text(DELTA_CLASSES, f"c3,active,{DAY1},Rust 1", f"c1,active,{DAY1},Py 1"),
        enrollments=csv_text(
            DELTA_ENROLLMENTS,
            f"e6,active,{DAY1},c3,t1,teacher",
            f"e7,active,{DAY1},c3,s1,student",
            f"e3,tobedeleted,{DAY1},c1,s2,student",
        ),
    )

    assert view(apply_bundle(current, bundle)) == {
        "c1": ("Py 1", {"t1"}, {"s1"}),
        "c2": ("Python 2", {"t2"}, {"s3"}),
        "c3": ("Rust 1", {"t1"}, {"s1"}),
    }


def test_a_delta_deletes_a_class_and_its_memberships() -> None:
    current = apply_bundle({}, parse_bundle(bulk()))
    bundle = delta(classes=csv_text(DELTA_CLASSES, f"c1,tobedeleted,{DAY1},Python 1"))

    assert view(apply_bundle(current, bundle)) == {"c2": BULK_VIEW["c2"]}


def test_a_delta_record_older_than_the_stored_class_changes_nothing() -> None:
    current = apply_bundle({}, delta(classes=csv_text(DELTA_CLASSES, f"c1,active,{DAY2},New")))
    older = delta(
        classes=csv_text(DELTA_CLASSES, f"c1,active,{DAY1},Old", f"c1x,tobedeleted,{DAY1},X"),
    )
    deletion = delta(classes=csv_text(DELTA_CLASSES, f"c1,tobedeleted,{DAY1},New"))

    assert apply_bundle(current, older) == current
    assert apply_bundle(current, deletion) == current
    assert current["c1"].modified == T0 + timedelta(days=1)


def test_a_disabled_or_deleted_user_leaves_every_class() -> None:
    current = apply_bundle({}, parse_bundle(bulk()))
    bundle = delta(
        users=csv_text(DELTA_USERS, f"s1,active,{DAY1},false", f"t2,tobedeleted,{DAY1},true")
    )

    assert view(apply_bundle(current, bundle)) == {
        "c1": ("Python 1", {"t1"}, {"s2"}),
        "c2": ("Python 2", set(), {"s3"}),
    }


def test_a_bulk_users_file_removes_members_it_does_not_list() -> None:
    current = {"c1": roster("c1", {"t1", "t9"}, {"s1", "s9"})}
    data = bulk(manifest=manifest(classes="absent", enrollments="absent"))

    assert view(apply_bundle(current, parse_bundle(data))) == {"c1": ("c1", {"t1"}, {"s1"})}


def test_absent_files_change_nothing_even_when_present() -> None:
    current = {"c1": roster("c1", {"t1"}, {"s1"}), "c9": roster("c9", {"t9"}, {"s9"})}
    data = bulk(
        manifest=manifest(classes="absent", users="absent", enrollments="absent"),
        classes="this is not, a classes file\n",
    )

    bundle = parse_bundle(data)

    assert (bundle.classes, bundle.users, bundle.enrollments) == ((), (), ())
    assert apply_bundle(current, bundle) == current


def test_roles_the_service_has_no_use_for_are_skipped() -> None:
    enrollments = ENROLLMENTS + csv_text(
        "e6,,,c1,sch1,g1,guardian,",
        "e7,,,c1,sch1,g1,administrator,",
        "e8,,,c2,sch1,g1,proctor,",
        "e9,,,c2,sch1,g1,ext:observer,",
    )

    bundle = parse_bundle(bulk(enrollments=enrollments))

    assert [e.enrollment_id for e in bundle.enrollments] == ["e1", "e2", "e3", "e4", "e5"]
    assert view(apply_bundle({}, bundle)) == BULK_VIEW


# Bad bundles: (files replaced in the bulk bundle, file, line, a word of the reason)

Change = dict[str, str | None]  # file name (without .csv) -> content; None: left out
Expected = tuple[str, int | None, str]  # file, line, a word of the reason
BAD: dict[str, tuple[Change, Expected]] = {
    "missing enrollments.csv": (
        {"enrollments": None},
        ("enrollments.csv", None, "missing"),
    ),
    "a file in a folder": (
        {"enrollments": None, "export/enrollments": ENROLLMENTS},
        ("enrollments.csv", None, "root"),
    ),
    "a header column with the wrong case": (
        {"classes": CLASSES.replace(",title,", ",Title,")},
        ("classes.csv", 1, "case-sensitive"),
    ),
    "a class sourcedId twice": (
        {"classes": CLASSES + "c1,,,Python 1 again,k1,scheduled,sch1\n"},
        ("classes.csv", 4, "repeats"),
    ),
    "an enrollment to a class not in a bulk classes.csv": (
        {"enrollments": ENROLLMENTS + "e6,,,c7,sch1,s1,student,\n"},
        ("enrollments.csv", 7, "c7"),
    ),
    "an enrollment of a user not in a bulk users.csv": (
        {"enrollments": ENROLLMENTS + "e6,,,c1,sch1,s7,student,\n"},
        ("enrollments.csv", 7, "s7"),
    ),
    "an unknown status": (
        {"classes": CLASSES + "c3,deleted,,Python 3,k1,scheduled,sch1\n"},
        ("classes.csv", 4, "status"),
    ),
    "a date without a time zone": (
        {"classes": CLASSES + "c3,active,2026-09-01T08:00:00,Python 3,k1,scheduled,sch1\n"},
        ("classes.csv", 4, "time zone"),
    ),
    "a date that is no date": (
        {"users": USERS + "s4,active,yesterday,true,s4,Ada,Lovelace\n"},
        ("users.csv", 8, "ISO 8601"),
    ),
    "a row with a missing field": (
        {"enrollments": ENROLLMENTS + "e6,,,c1,sch1,s1,student\n"},
        ("enrollments.csv", 7, "fields"),
    ),
    "an empty required value": (
        {"classes": CLASSES + "c3,,,,k1,scheduled,sch1\n"},
        ("classes.csv", 4, "title"),
    ),
    "an unknown role": (
        {"enrollments": ENROLLMENTS + "e6,,,c1,sch1,s1,Student,\n"},
        ("enrollments.csv", 7, "role"),
    ),
    "enabledUser neither true nor false": (
        {"users": USERS + "s4,,,yes,s4,Ada,Lovelace\n"},
        ("users.csv", 8, "enabledUser"),
    ),
    "a student id the service cannot use": (
        {
            "users": USERS + "s 4,,,true,s4,Ada,Lovelace\n",
            "enrollments": ENROLLMENTS + "e6,,,c1,sch1,s 4,student,\n",
        },
        ("enrollments.csv", 7, "student id"),
    ),
    "a class id the API could not address": (
        {"classes": CLASSES + "c/3,,,Algebra,k1,scheduled,sch1\n"},
        ("classes.csv", 4, "class id"),
    ),
    "a bulk file without data rows": (
        {"classes": CLASSES.splitlines()[0] + "\n", "manifest": manifest(enrollments="absent")},
        ("classes.csv", None, "absent"),
    ),
    "OneRoster 1.1": (
        {"manifest": manifest(version="1.1")},
        ("manifest.csv", 3, "'1.1'"),
    ),
    "an unknown mode": (
        {"manifest": manifest(users="full")},
        ("manifest.csv", 5, "'full'"),
    ),
    "no manifest": (
        {"manifest": None},
        ("manifest.csv", None, "missing"),
    ),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_a_bad_bundle_is_refused_with_file_line_and_reason(case: tuple[Change, Expected]) -> None:
    changes, (file, line, word) = case
    base = {"classes": CLASSES, "users": USERS, "enrollments": ENROLLMENTS}
    files = {"manifest": manifest(), **base, **changes}
    data = zipped({f"{name}.csv": text for name, text in files.items() if text is not None})

    problems = problems_of(data)

    assert [(p.file, p.line) for p in problems] == [(file, line)], problems
    assert word in problems[0].reason


def test_every_problem_is_reported_together() -> None:
    classes = CLASSES + csv_text(
        "c1,,,Duplicate,k1,scheduled,sch1", "c3,gone,2026-09-01,Python 3,k1,scheduled,sch1"
    )
    enrollments = ENROLLMENTS + csv_text("e6,,,c9,sch1,s1,student,", "e7,,,c1,sch1,s1")

    problems = problems_of(bulk(classes=classes, enrollments=enrollments))

    assert {(p.file, p.line) for p in problems} == {
        ("classes.csv", 4),  # the duplicate
        ("classes.csv", 5),  # the status (and its date)
        ("enrollments.csv", 7),  # class c9
        ("enrollments.csv", 8),  # too few fields
    }
    assert len(problems) == 5


@pytest.mark.parametrize("data", [b"", b"classes.csv", b"PK\x03\x04 broken"])
def test_something_that_is_not_a_zip_is_refused(data: bytes) -> None:
    assert problems_of(data) == (
        BundleProblem("bundle", None, "is not a zip file: zip the OneRoster CSV files together"),
    )


def test_a_bundle_over_the_size_limit_is_refused() -> None:
    data = bulk()

    with pytest.raises(BundleRejected) as caught:
        parse_bundle(data, max_bytes=len(data) - 1)
    with pytest.raises(BundleRejected) as unzipped:
        parse_bundle(bulk(classes=CLASSES + "x" * 10_000), max_bytes=5_000)

    assert [(p.file, p.line) for p in caught.value.problems] == [("bundle", None)]
    assert "limit" in caught.value.problems[0].reason
    assert "unzips" in unzipped.value.problems[0].reason


def test_a_delta_enrollment_to_a_class_that_does_not_exist_refuses_the_bundle() -> None:
    current = apply_bundle({}, parse_bundle(bulk()))
    bundle = delta(
        enrollments=csv_text(
            DELTA_ENROLLMENTS, f"e6,active,{DAY1},c1,s3,student", f"e7,active,{DAY1},c8,s3,student"
        )
    )

    with pytest.raises(BundleRejected) as caught:
        apply_bundle(current, bundle)

    assert [(p.file, p.line) for p in caught.value.problems] == [("enrollments.csv", 3)]
    assert "c8" in caught.value.problems[0].reason


# Properties

CLASS_IDS = ["c1", "c2", "c3"]
USERS_IDS: list[str] = ["u1", "u2", "u3", "u4"]
MODES: list[Mode] = ["bulk", "delta", "absent"]
ROLES: list[Role] = ["teacher", "student"]
STATUSES: list[Status] = ["active", "tobedeleted"]
dates = st.integers(min_value=0, max_value=3).map(lambda days: T0 + timedelta(days=days))
user_ids = st.sampled_from(USERS_IDS)


@st.composite
def stored(draw: st.DrawFn) -> dict[str, Roster]:
    return {
        c: Roster(
            c,
            "old",
            frozenset(draw(st.sets(user_ids))),
            frozenset(draw(st.sets(user_ids))),
            draw(dates),
        )
        for c in draw(st.lists(st.sampled_from(CLASS_IDS), unique=True))
    }


@st.composite
def bundles(draw: st.DrawFn) -> RosterBundle:
    """Bulk classes; enrollments to active classes only; users and enrollments any mode."""
    status = st.sampled_from(STATUSES)
    classes = tuple(
        ClassRecord(c, draw(st.sampled_from(["A", "B"])), draw(status), draw(dates), line=n)
        for n, c in enumerate(draw(st.lists(st.sampled_from(CLASS_IDS), unique=True)))
    )
    active = [c.class_id for c in classes if c.status == "active"]
    enrollments = tuple(
        EnrollmentRecord(
            f"e{n}",
            draw(st.sampled_from(active)),
            draw(user_ids),
            draw(st.sampled_from(ROLES)),
            draw(status),
            draw(dates),
            line=n,
        )
        for n in range(draw(st.integers(0, 6)) if active else 0)
    )
    users = tuple(
        UserRecord(u, draw(status), draw(st.booleans()), draw(dates), line=n)
        for n, u in enumerate(draw(st.lists(user_ids, unique=True)))
    )
    modes: dict[str, Mode] = {
        "classes": "bulk",
        "users": draw(st.sampled_from(MODES)),
        "enrollments": draw(st.sampled_from(MODES)),
    }
    return RosterBundle(modes, classes, users, enrollments)


@given(stored(), bundles())
def test_applying_a_bundle_twice_is_applying_it_once(
    current: dict[str, Roster], bundle: RosterBundle
) -> None:
    once = apply_bundle(current, bundle)

    assert apply_bundle(once, bundle) == once


@given(stored(), bundles())
def test_an_all_bulk_bundle_does_not_depend_on_what_was_stored(
    current: dict[str, Roster], bundle: RosterBundle
) -> None:
    all_bulk: dict[str, Mode] = {"classes": "bulk", "users": "bulk", "enrollments": "bulk"}
    bundle = RosterBundle(all_bulk, bundle.classes, bundle.users, bundle.enrollments)

    assert apply_bundle(current, bundle) == apply_bundle({}, bundle)
