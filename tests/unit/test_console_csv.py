"""The console's CSV export of a class table (service/frontend/console/roster_csv.py): formula
injection is guarded on text cells, numbers stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from service.frontend.console.roster_csv import FIXED_COLUMNS, cell, roster_csv, spreadsheet_safe


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\r=1"])
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["alice", "a=b", "3 open high alerts", "'quoted", ""])
def test_other_text_is_kept(text: str) -> None:
    assert spreadsheet_safe(text) == text


def test_numbers_are_written_as_numbers_even_when_negative() -> None:
    assert cell(-8.0) == "-8.0"
    assert cell(12.5) == "12.5"
    assert cell(0) == "0"
    assert cell(None) == ""
    assert cell("-8.0") == "'-8.0"  # text that looks like one is still text
    assert cell(datetime(2026, 12, 6, 10, 0, tzinfo=UTC)) == "2026-12-06T10:00:00+00:00"


def _row(student_id: str, topics: dict[str, float], **more: Any) -> dict[str, Any]:
    return {
        "student_id": student_id,
        "overall_mastery": more.get("overall_mastery"),
        "level": more.get("level"),
        "topics": topics,
        "open_alerts": {"high": 1, "medium": 0, "low": 2},
        "last_activity": None,
        "mastery_change_7d": more.get("change"),
        "why_flagged": ["1 open high alert", "no activity yet"],
    }


def test_the_file_has_a_column_per_topic_and_rows_in_the_order_given() -> None:
    rows = [
        _row("@first", {"sql.joins": 40.0}, overall_mastery=40.0, level="Beginner", change=-8.0),
        _row("=second", {"python.loops": 90.5}),
        _row("plain", {}),
    ]
    lines = list(csv.reader(io.StringIO(roster_csv(rows))))
    assert lines[0] == [*FIXED_COLUMNS, "python.loops", "sql.joins"]
    assert [line[0] for line in lines[1:]] == ["'@first", "'=second", "plain"]
    first = dict(zip(lines[0], lines[1], strict=True))
    assert first["overall_mastery"] == "40.0" and first["mastery_change_7d"] == "-8.0"
    assert first["sql.joins"] == "40.0" and first["python.loops"] == ""
    assert first["open_high_alerts"] == "1" and first["open_low_alerts"] == "2"
    assert first["why_flagged"] == "1 open high alert; no activity yet"


def test_a_topic_id_that_looks_like_a_formula_is_escaped_in_the_header() -> None:
    header = next(csv.reader(io.StringIO(roster_csv([_row("a", {"=cmd": 1.0})]))))
    assert header[-1] == "'=cmd"
