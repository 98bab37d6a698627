"""The class pages' summaries (service/frontend/console/pages_classes.py): the biggest 7-day
mover, signed changes, a class's alerts by severity."""

from __future__ import annotations

from typing import Any

from service.frontend.console.pages_classes import (
    Mover,
    alert_totals,
    biggest_change,
    csv_url,
    page_url,
    signed_points,
)


def _row(student_id: str, change: float | None, high: int = 0, low: int = 0) -> dict[str, Any]:
    return {
        "student_id": student_id,
        "mastery_change_7d": change,
        "open_alerts": {"high": high, "medium": 0, "low": low},
    }


def test_changes_are_signed_and_written_in_points() -> None:
    assert signed_points(12.5) == "+12.5 points"
    assert signed_points(-8.0) == "\u22128.0 points"
    assert signed_points(0.0) == "0.0 points"


def test_the_biggest_mover_is_by_absolute_change() -> None:
    rows = [_row("a", 3.0), _row("b", -9.5), _row("c", None), _row("d", 9.5)]
    assert biggest_change(rows) == Mover("b", -9.5)  # the first of equals
    assert biggest_change(rows[:1]) == Mover("a", 3.0)
    assert Mover("b", -9.5).text == "\u22129.5 points"


def test_nobody_moved_without_a_change() -> None:
    assert biggest_change([_row("a", None), _row("b", 0.0)]) is None
    assert biggest_change([]) is None


def test_alert_totals_add_up_the_rows() -> None:
    rows = [_row("a", None, high=2), _row("b", None, high=1, low=3)]
    assert alert_totals(rows) == {"high": 3, "medium": 0, "low": 3}


def test_links_keep_the_sort_and_the_cursor() -> None:
    assert page_url("c-1", "mastery") == "/console/classes/c-1?sort=mastery"
    assert page_url("c-1", "risk", "ab+/=") == "/console/classes/c-1?sort=risk&cursor=ab%2B%2F%3D"
    assert csv_url("c-1", "risk") == "/console/classes/c-1/students.csv"
    assert csv_url("c-1", "student_id") == "/console/classes/c-1/students.csv?sort=student_id"
