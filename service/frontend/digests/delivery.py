"""Sending a composed digest: email over SMTP (aiosmtplib; HTML + plain text, RFC 8058
one-click unsubscribe headers) or a POST of Slack-compatible JSON to a chat webhook
(httpx). Each within ``PROGRESS_DIGEST_SEND_TIMEOUT_S``.

A failure is a :class:`DeliveryFailed` whose text names what failed and never the
address, the URL or anything a digest says: it goes into ``digest_deliveries.last_error``,
the ops route and the logs (docs/digests.md, "Failures")."""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib
import httpx

from service.frontend.digests.compose import render_html, render_slack, render_text, subject
from service.settings import Settings


class DeliveryFailed(Exception):
    """Why a digest did not go out, without personal data."""


def email_message(settings: Settings, to: str, doc: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject(doc)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="progress-service")
    message["Auto-Submitted"] = "auto-generated"
    if doc.get("unsubscribe_url"):
        message["List-Unsubscribe"] = f"<{doc['unsubscribe_url']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render_text(doc))
    message.add_alternative(render_html(doc), subtype="html")
    return message


async def send_email(settings: Settings, to: str, doc: dict[str, Any]) -> None:
    if not settings.smtp_host:
        raise DeliveryFailed("PROGRESS_SMTP_HOST is not set")
    message = email_message(settings, to, doc)
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=(
                settings.smtp_password.get_secret_value() if settings.smtp_password else None
            ),
            start_tls=settings.smtp_starttls,
            timeout=settings.digest_send_timeout_s,
        )
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryFailed(f"SMTP server answered {exc.code}") from exc
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = sorted({refused.code for refused in exc.recipients})
        raise DeliveryFailed(f"SMTP server answered {'/'.join(map(str, codes))}") from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP: {type(exc).__name__}") from exc


async def post_webhook(
    client: httpx.AsyncClient, settings: Settings, url: str, doc: dict[str, Any]
) -> None:
    body = json.dumps(render_slack(doc), default=str)
    try:
        response = await client.post(
            url,
            content=body,
            headers={"content-type": "application/json"},
            timeout=settings.digest_send_timeout_s,
        )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"webhook: {type(exc).__name__}") from exc
    if not response.is_success:
        raise DeliveryFailed(f"webhook answered HTTP {response.status_code}")
