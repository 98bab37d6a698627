"""The class table as a CSV file (``GET /console/classes/{id}/students.csv``): one row per
student as the API's class table gives it, one column per topic.

Formula injection: a spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula (and runs it). Student ids may start with ``-`` or ``@`` (the id rule,
actors/vocabulary.py), topic ids with anything. Decision: every *text* cell that starts
with one of those — or with a tab or carriage return, which some spreadsheets skip before
reading the formula — gets a leading apostrophe, which spreadsheets show as a text
marker, so ``@sum`` stays the text ``@sum``. *Numbers* this module writes itself (scores,
the 7-day change, counts) are not escaped: ``-8.0`` is a negative number, not a formula,
and an apostrophe would turn it into text that no longer sorts or sums. A script that
reads the file gets the escaped text (strip one leading apostrophe to get the id back).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SEVERITIES = ("high", "medium", "low")
FIXED_COLUMNS = (
    "student_id",
    "overall_mastery",
    "level",
    "mastery_change_7d",
    "last_activity",
    "open_high_alerts",
    "open_medium_alerts",
    "open_low_alerts",
    "why_flagged",
)


def spreadsheet_safe(text: str) -> str:
    """``text`` as a cell no spreadsheet reads as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: object) -> str:
    """A value as its CSV cell: numbers as written, text made spreadsheet-safe, an
    absent value empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return spreadsheet_safe(str(value))


def topics_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every topic any row has a score in, sorted: the file's topic columns."""
    return sorted({topic for row in rows for topic in row["topics"]})


def csv_row(row: Mapping[str, Any], topics: list[str]) -> list[str]:
    alerts = row["open_alerts"]
    fixed: list[object] = [
        row["student_id"],
        row["overall_mastery"],
        row["level"],
        row["mastery_change_7d"],
        row["last_activity"],
        *(alerts.get(severity, 0) for severity in SEVERITIES),
        "; ".join(row["why_flagged"]),
    ]
    scores = [row["topics"].get(topic) for topic in topics]
    return [cell(value) for value in (*fixed, *scores)]


def roster_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The class table rows (in the order given) as CSV text with a header line."""
    topics = topics_of(rows)
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: quoted where needed, CRLF line ends
    writer.writerow([cell(name) for name in (*FIXED_COLUMNS, *topics)])
    writer.writerows(csv_row(row, topics) for row in rows)
    return out.getvalue()
