"""Teachers' digests, delivery and settings: the email a digest becomes (text + HTML,
one-click unsubscribe headers), what PUT /teachers/{id}/notifications accepts, and the
retry backoff (docs/digests.md)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from service.digests.compose import DigestInput, compose
from service.digests.delivery import email_message
from service.digests.periods import days_period
from service.digests.scheduler import backoff
from service.digests.schemas import NotificationsIn
from service.errors import InvalidInput
from service.routes.digests import validated
from service.settings import Settings

FRI, SAT, SUN = 4, 5, 6


def empty_digest() -> dict[str, Any]:
    return compose(
        DigestInput(
            teacher_id="t-1",
            period=days_period("day", date(2026, 3, 9), date(2026, 3, 10), "UTC"),
            classes=[],
            generated_at=datetime(2026, 3, 10, 7),
            inactive_after=timedelta(days=3),
            public_url="https://progress.school.test",
            unsubscribe_url="https://progress.school.test/notifications/unsubscribe?token=x",
        )
    )


def test_an_email_has_text_and_html_and_one_click_unsubscribe() -> None:
    message = email_message(Settings(), "teacher@school.test", empty_digest())
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["List-Unsubscribe"] == (
        "<https://progress.school.test/notifications/unsubscribe?token=x>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def body(**changes: Any) -> NotificationsIn:
    base: dict[str, Any] = {"channel": "email", "address": "t@school.test"}
    return NotificationsIn(**{**base, **changes})


def test_settings_are_validated() -> None:
    dev = Settings()
    stored = validated(body(quiet_days=["sunday", "saturday"], time_zone="Asia/Tokyo"), dev)
    assert stored["quiet_days"] == [SAT, SUN] and stored["weekday"] is None
    weekly = validated(body(frequency="weekly", weekday="friday"), dev)
    assert weekly["weekday"] == FRI
    refused = [
        body(time_zone="Nowhere/Town"),
        body(address="not an address"),
        body(frequency="weekly"),
        body(weekday="monday"),
        body(frequency="weekly", weekday="monday", quiet_days=["monday"]),
        body(channel="webhook", address="ftp://hooks.school.test/x"),
    ]
    for each in refused:
        with pytest.raises(InvalidInput):
            validated(each, dev)
    assert validated(body(channel="webhook", address="http://127.0.0.1:9/h"), dev)
    production = Settings(
        environment="production",
        jwt_secret="a-real-secret",
        APP_API_TOKEN="app",
    )
    with pytest.raises(InvalidInput):
        validated(body(channel="webhook", address="http://hooks.school.test/x"), production)
    assert validated(body(channel="webhook", address="https://hooks.school.test/x"), production)


def test_retries_back_off_exponentially_up_to_six_hours() -> None:
    assert [backoff(60, n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(60, 20) == timedelta(hours=6)
