"""Teachers' digests, the pure parts: which period is due when (time zones, DST, quiet
days, weekly), what a digest says (right students, right reasons, drops and gains,
misconceptions, empty), its renderings, and the unsubscribe tokens (docs/digests.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service.dev_token import mint
from service.frontend.digests.compose import (
    AlertFact,
    ClassFacts,
    DigestInput,
    StudentFact,
    compose,
    render_html,
    render_slack,
    render_text,
    subject,
)
from service.frontend.digests.periods import (
    Schedule,
    UnknownTimeZone,
    days_period,
    latest_due,
    period_sent_on,
    preview_period,
    zone,
)
from service.frontend.digests.tokens import BadUnsubscribeToken, UnsubscribeTokens
from service.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def hours(period: Any) -> float:
    return float((period.end - period.start).total_seconds() / 3600)


# ------------------------------------------------------------------ periods
def test_a_daily_digest_covers_the_local_day_before_and_is_due_from_the_send_hour() -> None:
    s = Schedule("daily", "Europe/Paris", send_hour=7)
    due = latest_due(s, local(PARIS, 2026, 3, 10, 7, 0))
    assert due is not None
    assert (due.first_day, due.last_day, due.kind) == (date(2026, 3, 9), date(2026, 3, 9), "day")
    assert due.start == datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # Paris midnight, UTC+1
    assert due.end == datetime(2026, 3, 9, 23, 0, tzinfo=UTC)
    # a minute before 07:00 the newest due digest is the one sent the day before
    before = latest_due(s, local(PARIS, 2026, 3, 10, 6, 59))
    assert before is not None and before.first_day == date(2026, 3, 8)


def test_the_local_date_decides_not_utcs() -> None:
    s = Schedule("daily", "Pacific/Auckland", send_hour=6)
    # 2026-03-10 18:30 UTC is 2026-03-11 07:30 in Auckland (UTC+13)
    due = latest_due(s, datetime(2026, 3, 10, 18, 30, tzinfo=UTC))
    assert due is not None and due.last_day == date(2026, 3, 10)
    assert due.end == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


def test_days_across_dst_changes_are_23_and_25_hours_and_a_week_167() -> None:
    spring = period_sent_on(Schedule("daily", "Europe/Paris", 7), date(2026, 3, 30))
    assert spring.last_day == date(2026, 3, 29) and hours(spring) == 23
    autumn = period_sent_on(Schedule("daily", "Europe/Paris", 7), date(2026, 10, 26))
    assert autumn.last_day == date(2026, 10, 25) and hours(autumn) == 25
    week = period_sent_on(Schedule("weekly", "Europe/Paris", 7, weekday=MON), date(2026, 3, 30))
    assert (week.first_day, week.last_day) == (date(2026, 3, 23), date(2026, 3, 29))
    assert hours(week) == 167


def test_a_send_hour_inside_the_dst_gap_is_the_instant_after_it() -> None:
    # 2026-03-08 02:00 does not exist in New York (02:00 EST -> 03:00 EDT)
    s = Schedule("daily", "America/New_York", send_hour=2)
    assert latest_due(s, datetime(2026, 3, 8, 6, 59, tzinfo=UTC)) is not None
    not_yet = latest_due(s, datetime(2026, 3, 8, 6, 59, tzinfo=UTC))
    assert not_yet is not None and not_yet.last_day == date(2026, 3, 6)
    due = latest_due(s, datetime(2026, 3, 8, 7, 0, tzinfo=UTC))  # 03:00 EDT
    assert due is not None and due.last_day == date(2026, 3, 7)


def test_quiet_days_send_nothing_and_the_next_digest_covers_them() -> None:
    s = Schedule("daily", "UTC", send_hour=8, quiet_days=frozenset({SAT, SUN}))
    # Saturday and Sunday 09:00: the newest due digest is still Friday's (Thursday)
    for day in (date(2026, 3, 14), date(2026, 3, 15)):
        due = latest_due(s, datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9))
        assert due is not None and (due.first_day, due.last_day) == (
            date(2026, 3, 12),
            date(2026, 3, 12),
        )
    monday = latest_due(s, datetime(2026, 3, 16, 9, tzinfo=UTC))
    assert monday is not None
    assert (monday.first_day, monday.last_day) == (date(2026, 3, 13), date(2026, 3, 15))
    tuesday = latest_due(s, datetime(2026, 3, 17, 9, tzinfo=UTC))
    assert tuesday is not None and tuesday.first_day == tuesday.last_day == date(2026, 3, 16)


def test_a_weekly_digest_is_due_on_its_weekday_and_covers_the_seven_days_before() -> None:
    s = Schedule("weekly", "UTC", send_hour=7, weekday=MON)
    due = latest_due(s, datetime(2026, 3, 18, 12, tzinfo=UTC))  # a Wednesday
    assert due is not None and due.kind == "week"
    assert (due.first_day, due.last_day) == (date(2026, 3, 9), date(2026, 3, 15))
    assert due.end == datetime(2026, 3, 16, tzinfo=UTC)


def test_no_send_day_means_never_due_and_unknown_zones_are_refused() -> None:
    s = Schedule("daily", "UTC", 7, quiet_days=frozenset(range(7)))
    assert latest_due(s, datetime(2026, 3, 18, 12, tzinfo=UTC)) is None
    with pytest.raises(UnknownTimeZone):
        zone("Mars/Olympus")
    with pytest.raises(UnknownTimeZone):
        zone("../etc/passwd")


def test_the_preview_covers_the_whole_days_before_today() -> None:
    p = preview_period("week", "Europe/Paris", local(PARIS, 2026, 3, 18, 0, 30))
    assert (p.first_day, p.last_day, p.kind) == (date(2026, 3, 11), date(2026, 3, 17), "week")


# ------------------------------------------------------------------ composition
PERIOD = days_period("day", date(2026, 3, 9), date(2026, 3, 10), "UTC")
IN = datetime(2026, 3, 9, 10, tzinfo=UTC)
BEFORE = datetime(2026, 3, 5, 10, tzinfo=UTC)
AFTER = datetime(2026, 3, 10, 6, tzinfo=UTC)


def alert(n: int, student: str, kind: str, at: datetime, **more: Any) -> AlertFact:
    fields: dict[str, Any] = {"severity": "medium", "topic_id": "python.loops", "status": "open"}
    fields.update(more)
    return AlertFact(alert_id=f"a{n}", kind=kind, detected_at=at, student_id=student, **fields)


def student(sid: str, start: float | None, end: float | None, last: datetime | None) -> StudentFact:
    return StudentFact(sid, overall_mastery=end, overall_at_start=start, last_activity=last)


def digest(classes: list[ClassFacts]) -> dict[str, Any]:
    return compose(
        DigestInput(
            teacher_id="t-1",
            period=PERIOD,
            classes=classes,
            generated_at=AFTER,
            inactive_after=timedelta(days=3),
            public_url="https://progress.school.test",
            unsubscribe_url="https://progress.school.test/notifications/unsubscribe?token=x",
        )
    )


def school() -> ClassFacts:
    students = [
        student("new-high", 50, 48, IN),
        student("old-open", 60, 60, IN),
        student("old-resolved", 70, 70, IN),
        student("spinning", 40, 41, IN),
        student("never", None, None, None),
        student("idle", 55, 55, BEFORE),
        student("rising", 30, 52.5, IN),
        student("falling", 80, 61, IN),
        student("late-alert", 65, 65, IN),
    ]
    alerts = [
        alert(1, "new-high", "low_quiz", IN, severity="high"),
        alert(2, "old-open", "stuck", BEFORE, status="acknowledged"),
        alert(3, "old-resolved", "stuck", BEFORE, status="resolved"),
        alert(4, "spinning", "wheel_spinning", IN),
        alert(5, "late-alert", "help_request", AFTER),  # raised after the period
    ]
    misconceptions = [
        AlertFact(
            "m1",
            "class_misconception",
            "medium",
            "python.loops",
            IN,
            "open",
            details={"error_type": "TypeError", "students": ["a", "b", "c"], "share": 0.33},
        ),
        AlertFact(
            "m2",
            "class_misconception",
            "medium",
            "sql.joins",
            BEFORE,
            "resolved",
            details={"error_type": "KeyError", "students": ["a", "b", "c"]},
        ),
    ]
    return ClassFacts("7b", "Class 7B <Python>", students, alerts, misconceptions)


def test_the_digest_names_the_right_students_for_the_right_reasons() -> None:
    doc = digest([school()])
    block = doc["classes"][0]
    codes = {s["student_id"]: [r["code"] for r in s["reasons"]] for s in block["needs_attention"]}
    assert codes == {
        "new-high": ["new_alert"],
        "old-open": ["open_alert"],
        "spinning": ["wheel_spinning"],
        "never": ["never_active"],
        "idle": ["inactive"],
    }
    # high alerts first
    assert block["needs_attention"][0]["student_id"] == "new-high"
    idle = next(s for s in block["needs_attention"] if s["student_id"] == "idle")
    assert idle["reasons"][0]["days"] == 4  # 2026-03-05 10:00 to the period's end
    spinning = next(s for s in block["needs_attention"] if s["student_id"] == "spinning")
    assert "wheel-spinning" in spinning["reasons"][0]["text"]
    assert spinning["console_url"] == "https://progress.school.test/console/students/spinning"
    assert block["console_url"] == "https://progress.school.test/console/classes/7b"
    assert doc["students_needing_attention"] == 5 and doc["empty"] is False


def test_drops_and_gains_are_the_biggest_changes_of_overall_mastery() -> None:
    block = digest([school()])["classes"][0]
    assert [(c["student_id"], c["change"]) for c in block["drops"]] == [
        ("falling", -19.0),
        ("new-high", -2.0),
    ]
    assert [(c["student_id"], c["change"]) for c in block["gains"]] == [
        ("rising", 22.5),
        ("spinning", 1.0),
    ]


def test_misconceptions_new_or_unresolved_only() -> None:
    block = digest([school()])["classes"][0]
    assert [(m["alert_id"], m["students"], m["new"]) for m in block["misconceptions"]] == [
        ("m1", 3, True)
    ]
    assert "TypeError" in block["misconceptions"][0]["text"]


def test_an_inactivity_alert_is_not_repeated_as_computed_inactivity() -> None:
    facts = ClassFacts(
        "c",
        "c",
        [student("idle", 50, 50, BEFORE)],
        [alert(1, "idle", "inactivity", IN)],
        [],
    )
    (entry,) = digest([facts])["classes"][0]["needs_attention"]
    assert [r["code"] for r in entry["reasons"]] == ["new_alert"]


def test_nothing_to_say_is_an_empty_digest() -> None:
    quiet = ClassFacts("c", "c", [student("ok", 50, 50.5, IN)], [], [])
    doc = digest([quiet])
    assert doc["empty"] is True and doc["students_needing_attention"] == 0
    assert digest([])["empty"] is True


def test_renderings_carry_the_students_links_and_escape_what_they_show() -> None:
    doc = digest([school()])
    text, html, slack = render_text(doc), render_html(doc), render_slack(doc)
    assert subject(doc) == "Daily progress digest, 2026-03-09: 5 students need attention"
    for rendered in (text, html, slack["text"]):
        assert "new-high" in rendered and "spinning" in rendered
        assert "old-resolved" not in rendered and "late-alert" not in rendered
    assert "Class 7B &lt;Python&gt;" in html and "<Python>" not in html
    assert 'href="https://progress.school.test/console/students/never"' in html
    assert "Stop these digests: https://progress.school.test/notifications/" in text
    assert slack["blocks"][0]["type"] == "header"
    assert "&lt;Python&gt;" in slack["blocks"][1]["text"]["text"]
    assert slack["digest"] is doc


# ------------------------------------------------------------------ tokens, settings, retry
def test_unsubscribe_tokens_name_the_teacher_and_nothing_else_passes() -> None:
    tokens = UnsubscribeTokens(b"k" * 32)
    token = tokens.sign("t-1")
    assert tokens.teacher_of(token) == "t-1"
    for bad in (token[:-2] + "xx", UnsubscribeTokens(b"j" * 32).sign("t-1"), "not-a-jwt"):
        with pytest.raises(BadUnsubscribeToken):
            tokens.teacher_of(bad)
    # a bearer token signed with the same key is no unsubscribe token (audience)
    with pytest.raises(BadUnsubscribeToken):
        UnsubscribeTokens(Settings().jwt_secret.get_secret_value().encode()).teacher_of(
            mint("teacher", "t-1")
        )


def test_replicas_with_the_same_app_token_verify_each_others_links() -> None:
    one = Settings(APP_API_TOKEN="shared-app-token")
    two = Settings(APP_API_TOKEN="shared-app-token")
    token = UnsubscribeTokens.from_settings(one).sign("t-9")
    assert UnsubscribeTokens.from_settings(two).teacher_of(token) == "t-9"
