"""Teachers' digests on the real stack, with TWO replicas of the app (each with its own
daprd, one database) running the scheduler: a real SMTP server (aiosmtpd, started here on
127.0.0.1) receives each teacher's digest exactly once (HTML + text, List-Unsubscribe),
a webhook receiver (a small HTTP server here) receives the JSON, a refusing SMTP server
makes deliveries retry with backoff and give up, visible on GET /ops/digests and the
metric, and the unsubscribe link stops the next digest.

The replicas tick every second (PROGRESS_DIGEST_TICK_S=1) and the teachers' send hour is
0 in a time zone where it is about noon now: the period due is yesterday there, exactly
as in production. The events that raise alerts are dated yesterday noon, inside it."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.integration.stack import Ports, Stack, stack_secret
from tests.integration.support import Student, applied, bearer, eventually, put_class

TAG = uuid.uuid4().hex[:8]


def zone_near_noon() -> str:
    """A fixed-offset IANA zone where it is about noon now: the local midnight that ends
    the period due today is hours away whenever the test runs."""
    offset = 12 - datetime.now(UTC).hour  # -11 .. +12
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


TZ = zone_near_noon()
YESTERDAY = datetime.now(ZoneInfo(TZ)).date() - timedelta(days=1)
# the events that raise alerts: yesterday noon, local (inside the period due today)
YESTERDAY_NOON = datetime.combine(YESTERDAY, time(12), tzinfo=ZoneInfo(TZ)).astimezone(UTC)
MAX_ATTEMPTS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def replica_ports(i: int) -> Ports:
    """Below 32768, where Linux hands out no ephemeral ports: on 38000 a client's
    outgoing connection once held the app's port (bind: address already in use)."""
    k = 1000 * (i - 1)
    return Ports(
        app=18500 + k,
        dapr_http=13900 + k,
        dapr_grpc=16001 + k,
        dapr_metrics=16901 + k,
        dapr_internal=16011 + k,
        database="progress_digests",
        app_id="progress-digests",
    )


@dataclass
class Mailbox:
    """What the SMTP server received; RCPT to a refused address answers 451."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    refused_once: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.lock:
            if address in self.refused:
                return "451 4.3.0 try again later"
            if address in self.refused_once:
                self.refused_once.discard(address)
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpts, m in self.messages if address in rcpts]


class Hooks:
    """A chat webhook receiver: every POST body, by path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with hooks.lock:
                    hooks.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for p, body in self.received if p == path]


@dataclass
class Setup:
    replicas: list[Ports]
    mailbox: Mailbox
    hooks: Hooks


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    hooks = Hooks()
    hooks.thread.start()
    env = {
        "PROGRESS_SMTP_HOST": "127.0.0.1",
        "PROGRESS_SMTP_PORT": str(smtp.port),
        "PROGRESS_SMTP_STARTTLS": "false",
        "PROGRESS_SMTP_FROM": "digests@school.test",
        "PROGRESS_DIGEST_TICK_S": "1",
        "PROGRESS_DIGEST_RETRY_BASE_S": "1",
        "PROGRESS_DIGEST_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "PROGRESS_PUBLIC_URL": replica_ports(1).app_url,
    }
    first = Stack(replica_ports(1), name="digests1", fast_timers=False, extra_env=env)
    second = Stack(replica_ports(2), name="digests2", fast_timers=False, extra_env=env)
    try:
        first.up()
        second.app("start")
        yield Setup([replica_ports(1), replica_ports(2)], mailbox, hooks)
    finally:
        try:
            second.down()  # its app and daprd (it started no backing service)
        finally:
            first.down()
            hooks.server.shutdown()
            smtp.stop()


@pytest.fixture
async def admin(setup: Setup) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=setup.replicas[0].app_url, timeout=15, headers=bearer("admin")
    ) as client:
        yield client


@pytest.fixture
async def pg(setup: Setup) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(setup.replicas[0].database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def sent_total(setup: Setup, outcome: str, channel: str = "email") -> float:
    """progress_digest_deliveries_total of both replicas."""
    total = 0.0
    for ports in setup.replicas:
        async with httpx.AsyncClient(base_url=ports.app_url, timeout=10) as c:
            text = (await c.get("/metrics")).text
        for line in text.splitlines():
            if line.startswith("progress_digest_deliveries_total{") and (
                f'channel="{channel}"' in line and f'outcome="{outcome}"' in line
            ):
                total += float(line.rsplit(" ", 1)[1])
    return total


def settings_body(channel: str, address: str, **more: Any) -> dict[str, Any]:
    return {
        "channel": channel,
        "address": address,
        "frequency": "daily",
        "time_zone": TZ,
        "send_hour": 0,
        **more,
    }


async def test_digests_reach_each_teacher_once_across_two_replicas(
    setup: Setup, admin: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    dapr = httpx.AsyncClient(
        base_url=setup.replicas[0].dapr_url,
        timeout=15,
        headers={"dapr-api-token": stack_secret("dapr_api_token")},
    )
    async with dapr:
        struggling, fine = Student(dapr, f"dg-{TAG}-a"), Student(dapr, f"dg-{TAG}-b")
        absent = f"dg-{TAG}-c"  # in the class, never active
        # yesterday: a quiz far below the pass mark (a high low_quiz alert), and a good one
        await struggling.send(
            "exercise.quiz_graded",
            "python.loops",
            quiz_id="q",
            score=5,
            occurred_at=YESTERDAY_NOON.isoformat(),
        )
        await fine.send(
            "exercise.quiz_graded",
            "python.loops",
            quiz_id="q",
            score=95,
            occurred_at=YESTERDAY_NOON.isoformat(),
        )
        await applied(admin, struggling.id, 1)
        await applied(admin, fine.id, 1)
    await eventually(
        lambda: pg.fetchval(
            "select count(*) from struggle_alerts where student_id = $1 and kind = 'low_quiz'",
            struggling.id,
        )
    )
    emails = [f"teacher{n}-{TAG}@school.test" for n in range(6)]
    teachers = [f"dt-{TAG}-{n}" for n in range(6)]
    hook_teacher = f"dt-{TAG}-hook"
    await put_class(admin, f"dc-{TAG}", [*teachers, hook_teacher], [struggling.id, fine.id, absent])
    # settings put but off: the preview (in the teacher's zone) says what would be sent,
    # and nothing is
    r = await admin.put(
        f"/teachers/{teachers[0]}/notifications",
        json=settings_body("email", emails[0], enabled=False),
    )
    assert r.status_code == 200, r.text
    preview = await admin.get(f"/teachers/{teachers[0]}/digest", params={"period": "day"})
    assert preview.status_code == 200, preview.text
    doc = preview.json()["digest"]
    flagged = {s["student_id"]: s for s in doc["classes"][0]["needs_attention"]}
    assert doc["period"]["first_day"] == YESTERDAY.isoformat()
    assert set(flagged) == {struggling.id, absent}, doc
    assert [r["code"] for r in flagged[struggling.id]["reasons"]] == ["new_alert"]
    assert [r["code"] for r in flagged[absent]["reasons"]] == ["never_active"]
    assert setup.mailbox.to(emails[0]) == []

    # every teacher sets their own: due now on both replicas at once
    for teacher, address in zip(teachers, emails, strict=True):
        r = await admin.put(
            f"/teachers/{teacher}/notifications",
            json=settings_body("email", address),
            headers=bearer("teacher", teacher),
        )
        assert r.status_code == 200, r.text
    r = await admin.put(
        f"/teachers/{hook_teacher}/notifications",
        json=settings_body("webhook", f"http://127.0.0.1:{setup.hooks.port}/hook/{TAG}"),
        headers=bearer("teacher", hook_teacher),
    )
    assert r.status_code == 200, r.text

    for address in emails:
        await eventually(lambda a=address: _async(setup.mailbox.to(a)), timeout=60)
    posted = await eventually(lambda: _async(setup.hooks.at(f"/hook/{TAG}")), timeout=60)

    # the email: multipart/alternative text + HTML, the right students, one-click unsubscribe
    message = setup.mailbox.to(emails[0])[0]
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for part in (text, html):
        assert struggling.id in part and absent in part
        assert fine.id not in part
        assert f"/console/students/{struggling.id}" in part
    assert "2 students need attention" in message["Subject"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe_url.startswith(f"{setup.replicas[0].app_url}/notifications/unsubscribe?")
    # the webhook: Slack-compatible JSON with the same students
    body = posted[0]
    assert body["blocks"][0]["type"] == "header" and struggling.id in body["text"]
    hook_flagged = {s["student_id"] for s in body["digest"]["classes"][0]["needs_attention"]}
    assert hook_flagged == {struggling.id, absent}

    # exactly one digest per teacher: one row each, sent; one email each
    rows = await pg.fetch(
        "select teacher_id, status, attempts from digest_deliveries where teacher_id = any($1)",
        [*teachers, hook_teacher],
    )
    assert sorted(r["teacher_id"] for r in rows) == sorted([*teachers, hook_teacher])
    assert {r["status"] for r in rows} == {"sent"} and {r["attempts"] for r in rows} == {1}

    # a refusing SMTP server: retried with backoff, visible to operators, given up
    refused_teacher, refused_address = f"dt-{TAG}-refused", f"refused-{TAG}@school.test"
    once_teacher, once_address = f"dt-{TAG}-once", f"once-{TAG}@school.test"
    setup.mailbox.refused.add(refused_address)
    setup.mailbox.refused_once.add(once_address)
    retried_before = await sent_total(setup, "retried")
    failed_before = await sent_total(setup, "failed")
    await put_class(
        admin,
        f"dc-{TAG}",
        [*teachers, hook_teacher, refused_teacher, once_teacher],
        [struggling.id, fine.id, absent],
    )
    for teacher, address in ((refused_teacher, refused_address), (once_teacher, once_address)):
        r = await admin.put(
            f"/teachers/{teacher}/notifications", json=settings_body("email", address)
        )
        assert r.status_code == 200, r.text

    async def pending_retry() -> dict[str, Any] | None:
        r = await admin.get("/ops/digests", params={"teacher_id": refused_teacher})
        rows = [d for d in r.json()["deliveries"] if d["status"] == "pending"]
        return rows[0] if rows and rows[0]["attempts"] >= 1 else None

    waiting = await eventually(pending_retry, timeout=60, interval=0.05)
    assert waiting["last_error"] == "SMTP server answered 451"
    assert refused_address not in json.dumps(waiting)
    assert datetime.fromisoformat(waiting["next_attempt_at"]) > datetime.fromisoformat(
        waiting["created_at"]
    )

    async def given_up() -> dict[str, Any] | None:
        r = await admin.get(
            "/ops/digests", params={"teacher_id": refused_teacher, "status": "failed"}
        )
        rows = r.json()["deliveries"]
        return rows[0] if rows else None

    failed = await eventually(given_up, timeout=90)
    assert failed["attempts"] == MAX_ATTEMPTS and failed["last_error"] == "SMTP server answered 451"
    once = await eventually(lambda: _async(setup.mailbox.to(once_address)), timeout=60)
    assert len(once) == 1
    once_row = await pg.fetchrow(
        "select status, attempts from digest_deliveries where teacher_id = $1", once_teacher
    )
    assert (once_row["status"], once_row["attempts"]) == ("sent", 2)
    assert await sent_total(setup, "retried") - retried_before == (MAX_ATTEMPTS - 1) + 1
    assert await sent_total(setup, "failed") - failed_before == 1
    assert setup.mailbox.to(refused_address) == []
    # the ops route is the admin's
    r = await admin.get("/ops/digests", headers=bearer("teacher", teachers[0]))
    assert r.status_code == 403

    # after all those ticks of both replicas: still one email per teacher
    assert [len(setup.mailbox.to(a)) for a in emails] == [1] * len(emails)
    assert len(setup.hooks.at(f"/hook/{TAG}")) == 1
    assert await sent_total(setup, "sent") >= len(emails) + 1

    # the unsubscribe link: GET changes nothing (mail scanners), POST turns digests off
    async with httpx.AsyncClient(timeout=15) as anonymous:
        page = await anonymous.get(unsubscribe_url)
        assert page.status_code == 200 and "<form method='post'" in page.text
        assert (await admin.get(f"/teachers/{teachers[0]}/notifications")).json()["enabled"]
        done = await anonymous.post(
            unsubscribe_url,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200, done.text
        forged = await anonymous.post(unsubscribe_url + "x")
        assert forged.status_code == 400
    now_settings = (await admin.get(f"/teachers/{teachers[0]}/notifications")).json()
    assert now_settings["enabled"] is False and now_settings["unsubscribed_at"]

    # the next period: as if today's rows were yesterday's, the schedulers look again;
    # the teacher still subscribed gets the next digest, the one unsubscribed does not
    await pg.execute(
        "delete from digest_deliveries where teacher_id = any($1)", [teachers[0], teachers[1]]
    )
    await eventually(lambda: _async(len(setup.mailbox.to(emails[1])) == 2), timeout=60)
    assert len(setup.mailbox.to(emails[0])) == 1
    assert (
        await pg.fetchval(
            "select count(*) from digest_deliveries where teacher_id = $1", teachers[0]
        )
        == 0
    )


async def _async(value: Any) -> Any:
    return value


async def test_teachers_set_only_their_own_notifications(
    setup: Setup, admin: httpx.AsyncClient
) -> None:
    me, other = f"dt-{TAG}-me", f"dt-{TAG}-other"
    body = settings_body("email", f"me-{TAG}@school.test", frequency="weekly", weekday="monday")
    r = await admin.put(
        f"/teachers/{other}/notifications", json=body, headers=bearer("teacher", me)
    )
    assert r.status_code == 403
    r = await admin.get(f"/teachers/{other}/digest", headers=bearer("teacher", me))
    assert r.status_code == 403
    r = await admin.put(f"/teachers/{me}/notifications", json=body, headers=bearer("student", me))
    assert r.status_code == 403
    bad = {**body, "time_zone": "Mars/Olympus"}
    r = await admin.put(f"/teachers/{me}/notifications", json=bad, headers=bearer("teacher", me))
    assert r.status_code == 422 and "IANA" in r.text
    quiet = {**body, "quiet_days": ["monday"]}
    r = await admin.put(f"/teachers/{me}/notifications", json=quiet, headers=bearer("teacher", me))
    assert r.status_code == 422
    r = await admin.put(f"/teachers/{me}/notifications", json=body, headers=bearer("teacher", me))
    assert r.status_code == 200, r.text
    got = (await admin.get(f"/teachers/{me}/notifications", headers=bearer("teacher", me))).json()
    assert (got["frequency"], got["weekday"], got["enabled"]) == ("weekly", "monday", True)
    r = await admin.get(f"/teachers/{other}/notifications")
    assert r.status_code == 404
