"""service/frontend/console/pages_student.py: how the student page writes the API's data (the
history table, an alert's evidence, rule and status), where an action returns to, and
the template's contract (data-testids, escaping, the JSON island)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from service.alerts.schemas import Alert
from service.frontend.console.pages_student import (
    COMPONENTS,
    AlertView,
    _back,
    at,
    facts,
    history_table,
    show,
    who_changed,
)
from service.frontend.console.rendering import TEMPLATES
from service.readmodel.schemas import History, HistoryPoint
from service.schemas import Progress

DETECTED = datetime(2026, 12, 10, 9, 41, 2, 118000, tzinfo=UTC)
HOSTILE = "</script><script>alert(1)</script>"


def alert(**changes: Any) -> Alert:
    fields: dict[str, Any] = {
        "id": uuid.UUID("6f0c0000-0000-4000-8000-000000000001"),
        "student_id": "s-17",
        "kind": "low_quiz",
        "topic_id": "python.loops",
        "severity": "high",
        "details": {"quiz_id": "q1", "score": 5},
        "detected_at": DETECTED,
        "status": "open",
        "trigger_event_id": "e-9",
        "acknowledged_by": None,
        "acknowledged_at": None,
        "resolved_by": None,
        "resolved_at": None,
        "resolution_reason": None,
        "updated_at": DETECTED,
        "rule": {
            "kind": "low_quiz",
            "version": 0,
            "thresholds": {"quiz_low_below": 40, "quiz_high_below": 20},
        },
        "evidence": {
            "event_ids": ["e-7", "e-9"],
            "last_activity": "2026-12-10T09:41:00Z",
            "quiz_id": "q1",
            "score": 5,
            "recent_scores": [60, 5],
        },
    }
    return Alert(**(fields | changes))


def point(topic: str, day: int, score: float, level: str = "Learning") -> HistoryPoint:
    return HistoryPoint(topic_id=topic, day=date(2026, 12, day), score=score, level=level)


def test_values_are_written_as_text_in_the_apis_order() -> None:
    assert show(None) == "—"
    assert show(["e-7", "e-9"]) == "e-7, e-9"
    assert show([]) == "none"
    assert show({"a": 1, "b": [2, 3]}) == "a: 1; b: 2, 3"
    assert show(DETECTED) == "2026-12-10T09:41:02.118000+00:00"
    assert facts({"z": 1, "a": 2}) == [("z", "1"), ("a", "2")]
    assert facts(None) == []


def test_the_history_table_has_a_row_per_day_and_the_overall_column_first() -> None:
    table = history_table(
        [point("python.loops", 2, 40.0), point("*", 1, 30.0), point("*", 2, 35.5, "Beginner")]
    )
    assert table.topics == ["Overall", "python.loops"]
    assert table.rows == [
        ("2026-12-01", ["30.0 (Learning)", "—"]),
        ("2026-12-02", ["35.5 (Beginner)", "40.0 (Learning)"]),
    ]
    assert history_table([]) == type(table)([], [])


def test_who_changed_an_alert_and_when() -> None:
    assert who_changed(alert()) == ""
    acked = alert(status="acknowledged", acknowledged_by="ms-lee", acknowledged_at=DETECTED)
    assert who_changed(acked) == "by ms-lee at 2026-12-10 09:41 UTC"
    useless = alert(
        status="resolved", resolved_by="t", resolved_at=DETECTED, resolution_reason="not_useful"
    )
    assert who_changed(useless) == "by t at 2026-12-10 09:41 UTC (not useful)"
    assert at(None) == ""


def test_an_action_returns_to_a_console_path_only() -> None:
    row = {"student_id": "s-17"}
    assert _back("/console/classes/c1", row).headers["location"] == "/console/classes/c1"
    for elsewhere in ("https://evil.example/", "//evil.example/console/", "/struggles", None):
        response = _back(elsewhere, row)
        assert response.status_code == 303
        assert response.headers["location"] == "/console/students/s-17"
    assert _back(None, {"student_id": None}).headers["location"] == "/console/"


def page(**context: Any) -> str:
    history = History(student_id="s-17", points=[point("*", 1, 30.0), point("a", 1, 20.0)])
    values: dict[str, Any] = {
        "user": None,
        "csrf_token": "tok",
        "title": "Student s-17",
        "student_id": "s-17",
        "progress": None,
        "components": COMPONENTS,
        "history": history.model_dump(mode="json"),
        "history_table": history_table(history.points),
        "alerts": [AlertView.of(alert())],
        "live_after": 41,
        "at": at,
        "back": "/console/students/s-17",
    }
    return TEMPLATES.get_template("student.html").render(values | context)


def test_the_page_carries_the_browser_tests_contract() -> None:
    html = page()
    for testid in (
        "live",
        "history-chart",
        "alert",
        "alert-status",
        "evidence",
        "alert-rule",
        "ack",
        "resolve",
        "resolve-not-useful",
    ):
        assert f'data-testid="{testid}"' in html, testid
    assert 'data-live-student="s-17" data-live-after="41"' in html
    assert 'data-alert-id="6f0c0000-0000-4000-8000-000000000001" data-status="open"' in html
    assert html.count('name="csrf_token" value="tok"') == 2
    assert 'name="reason" value="not_useful"' in html
    assert "quiz_low_below" in html and "recent_scores" in html


def test_buttons_that_no_longer_apply_are_disabled() -> None:
    def disabled(status: str) -> set[str]:
        html = page(alerts=[AlertView.of(alert(status=status))])
        return set(re.findall(r'data-testid="([a-z-]+)"[^>]* disabled', html))

    assert disabled("open") == set()
    assert disabled("acknowledged") == {"ack"}
    assert disabled("resolved") == {"ack", "resolve", "resolve-not-useful"}


def test_the_topics_table_shows_scores_and_components() -> None:
    progress = Progress.model_validate(
        {
            "student_id": "s-17",
            "overall_mastery": 41.5,
            "topics": [
                {
                    "topic_id": "python.loops",
                    "score": 41.5,
                    "level": "Learning",
                    "components": {
                        "exercise_completion": 10.0,
                        "quiz": 55.5,
                        "code_quality": 0.0,
                        "consistency": 14.3,
                    },
                    "passed_exercises": 1,
                    "exercise_target": 10,
                }
            ],
            "streak_days": 1,
            "last_activity": DETECTED,
            "events_applied": 3,
            "open_struggles": 1,
        }
    )
    html = page(progress=progress)
    assert 'data-testid="topics"' in html
    assert '<td class="num" data-testid="score">41.5</td>' in html
    assert '<td class="num" data-component="quiz">55.5</td>' in html
    assert '<td class="num" data-component="consistency">14.3</td>' in html
    assert "1 of 10" in html


def test_data_of_the_api_is_escaped_and_the_island_is_json() -> None:
    hostile = alert(details={"note": HOSTILE}, evidence={"excerpt": HOSTILE})
    history = History(student_id="s-17", points=[point(HOSTILE, 1, 30.0)])
    html = page(
        alerts=[AlertView.of(hostile)],
        history=history.model_dump(mode="json"),
        history_table=history_table(history.points),
    )
    assert "<script>alert(1)" not in html
    island = re.search(r'id="history-data">(.*?)</script>', html, re.S)
    assert island is not None
    assert json.loads(island.group(1)) == history.model_dump(mode="json")
