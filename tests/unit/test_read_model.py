"""Pure parts of the read model: the newest snapshot per student wins a batch, the
history day is the newest event's UTC day, why a student is flagged, page cursors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from service.readmodel.projection import history_day, latest_per_student
from service.readmodel.schemas import decode_page, encode_page
from service.readmodel.views import why_flagged

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_the_newest_snapshot_of_each_student_wins_whatever_the_order() -> None:
    batch = [
        {"student_id": "a", "version": 3},
        {"student_id": "b", "version": 1},
        {"student_id": "a", "version": 5},
        {"student_id": "a", "version": 4},
    ]
    assert {s: v["version"] for s, v in latest_per_student(batch).items()} == {"a": 5, "b": 1}


def test_the_history_day_is_the_utc_day_of_the_newest_event() -> None:
    assert history_day({"last_activity": "2026-11-27T23:30:00-02:00"}) == date(2026, 11, 28)
    assert history_day({"last_activity": None}) == datetime.now(UTC).date()


def row(**kw: Any) -> dict[str, Any]:
    return {"high": 0, "medium": 0, "change_7d": None, "last_activity": NOW, **kw}


@pytest.mark.parametrize(
    ("fields", "reasons"),
    [
        ({}, []),
        ({"high": 2, "medium": 1}, ["2 open high alerts", "1 open medium alert"]),
        ({"change_7d": -12.5}, ["mastery fell 12.5 points in 7 days"]),
        ({"change_7d": 3.0}, []),
        ({"last_activity": NOW - timedelta(days=4)}, ["no activity for 4 days"]),
        ({"last_activity": NOW - timedelta(days=2)}, []),
        ({"last_activity": None}, ["no activity yet"]),
    ],
)
def test_why_a_student_is_flagged(fields: dict[str, Any], reasons: list[str]) -> None:
    assert why_flagged(row(**fields), NOW) == reasons


def test_a_page_cursor_is_bound_to_its_sort() -> None:
    cursor = encode_page("risk", 50)
    assert decode_page(cursor, "risk") == 50
    with pytest.raises(ValueError, match="this sort"):
        decode_page(cursor, "mastery")
    with pytest.raises(ValueError, match="issued"):
        decode_page("bm9wZQ", "risk")
