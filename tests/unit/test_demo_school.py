"""bench/demo_school.py: the demo school the console's benchmark and `make demo` seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.demo_school import CLASS_SIZE, CLASSES, SPREAD, school


def test_every_student_is_in_exactly_one_class_with_its_own_teacher() -> None:
    classes, events = school("t")
    members = [s for c in classes for s in c.student_ids]
    assert len(classes) == CLASSES
    assert all(len(c.student_ids) == CLASS_SIZE for c in classes)
    assert len(members) == len(set(members))
    assert len({c.teacher_id for c in classes}) == CLASSES
    assert {e.student_id for e in events} <= set(members)


def test_events_are_spread_over_two_weeks_oldest_first() -> None:
    _, events = school("t")
    times = [datetime.fromisoformat(e.data["occurred_at"]) for e in events]
    assert times == sorted(times)
    assert times[-1] - times[0] > SPREAD - timedelta(hours=1)
    assert times[-1] <= datetime.now(UTC)


def test_the_same_prefix_gives_the_same_school() -> None:
    first, first_events = school("t")
    again, again_events = school("t")
    assert first == again
    assert [e.event_id for e in first_events] == [e.event_id for e in again_events]
