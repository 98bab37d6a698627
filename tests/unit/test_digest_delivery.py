"""Teachers' digests, delivery and settings: the email a digest becomes (text + HTML,
one-click unsubscribe headers), what PUT /teachers/{id}/notifications accepts, and the
retry backoff (docs/digests.md)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from service.errors import InvalidInput
from service.frontend.digests.compose import DigestInput, compose
from service.frontend.digests.delivery import (
    DeliveryFailed,
    email_message,
    post_webhook,
    send_email,
)
from service.frontend.digests.periods import days_period
from service.frontend.digests.scheduler import backoff
from service.frontend.digests.schemas import NotificationsIn
from service.frontend.routes.digests import validated
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


# ------------------------------------------------------------------ sending, for real
class Inbox:
    """An aiosmtpd handler: what arrived; RCPT to ``refused`` answers 451."""

    def __init__(self, refused: str = "") -> None:
        self.refused = refused
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address == self.refused:
            return "451 4.3.0 mailbox of refused@school.test busy"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((list(envelope.rcpt_tos), envelope.original_content or b""))
        return "250 accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, Settings]]:
    inbox = Inbox(refused="refused@school.test")
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, Settings(smtp_host="127.0.0.1", smtp_port=controller.port, smtp_starttls=False)
    finally:
        controller.stop()


async def test_an_email_reaches_a_real_smtp_server(smtp: tuple[Inbox, Settings]) -> None:
    inbox, settings = smtp
    await send_email(settings, "teacher@school.test", empty_digest())
    ((rcpts, raw),) = inbox.received
    assert rcpts == ["teacher@school.test"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Subject"].startswith("Daily progress digest, 2026-03-09")


async def test_a_refusal_is_a_failure_that_names_no_address(
    smtp: tuple[Inbox, Settings],
) -> None:
    _, settings = smtp
    with pytest.raises(DeliveryFailed) as failed:
        await send_email(settings, "refused@school.test", empty_digest())
    assert str(failed.value) == "SMTP server answered 451"
    nowhere = Settings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False)
    with pytest.raises(DeliveryFailed) as failed:
        await send_email(nowhere, "teacher@school.test", empty_digest())
    assert str(failed.value).startswith("SMTP: ") and "teacher" not in str(failed.value)
    with pytest.raises(DeliveryFailed, match="PROGRESS_SMTP_HOST is not set"):
        await send_email(Settings(), "teacher@school.test", empty_digest())


async def test_a_webhook_gets_json_and_a_non_2xx_is_a_failure() -> None:
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(500 if self.path == "/broken" else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        async with httpx.AsyncClient() as client:
            await post_webhook(client, Settings(), f"{base}/hook", empty_digest())
            assert got[0]["digest"]["teacher_id"] == "t-1" and got[0]["blocks"]
            with pytest.raises(DeliveryFailed, match="^webhook answered HTTP 500$"):
                await post_webhook(client, Settings(), f"{base}/broken", empty_digest())
            with pytest.raises(DeliveryFailed, match="^webhook: ConnectError$"):
                await post_webhook(
                    client, Settings(), f"http://127.0.0.1:{free_port()}/x", empty_digest()
                )
    finally:
        server.shutdown()


def test_an_address_with_control_characters_is_refused() -> None:
    for address in ("t\x00@school.test", "https://hooks.school.test/\x07"):
        channel = "email" if "@" in address else "webhook"
        with pytest.raises(InvalidInput, match="control characters"):
            validated(body(channel=channel, address=address), Settings())
