"""The console's student page and alert actions on the real stack, fetched with bearer
tokens and (for CSRF) a cookie session signed in through the sign-in form: the page
shows what the API gives the same caller, and its actions change what the API shows,
with the API's scope."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import asyncpg
import httpx
import pytest

from service.dev_token import mint
from tests.integration.stack import Ports
from tests.integration.support import Student, applied, bearer, eventually, put_class

VOID = frozenset({"input", "meta", "link", "br", "img", "hr", "source", "wbr"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return " ".join("".join(parts).split())

    def find_all(self, **attrs: str) -> list[Node]:
        found = (
            [self]
            if all(self.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
            else []
        )
        for child in self.children:
            if isinstance(child, Node):
                found.extend(child.find_all(**attrs))
        return found

    def find(self, **attrs: str) -> Node:
        found = self.find_all(**attrs)
        assert len(found) == 1, f"{attrs}: {len(found)} elements"
        return found[0]

    def pairs(self) -> list[tuple[str, str]]:
        """(dt, dd) texts of the description lists under this node."""
        terms = [n.text for n in self.find_all_tags("dt")]
        values = [n.text for n in self.find_all_tags("dd")]
        return list(zip(terms, values, strict=True))

    def find_all_tags(self, tag: str) -> list[Node]:
        found = [self] if self.tag == tag else []
        for child in self.children:
            if isinstance(child, Node):
                found.extend(child.find_all_tags(tag))
        return found


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def island(html: str) -> Any:
    found = re.search(
        r'<script type="application/json" id="history-data">(.*?)</script>', html, re.S
    )
    assert found is not None, "no history-data island"
    return json.loads(found.group(1))


@dataclass(frozen=True)
class Flagged:
    student_id: str
    alert_id: str
    teacher: dict[str, str]  # the teacher of the student's class
    outsider: dict[str, str]  # a teacher of another class
    teacher_id: str


async def _alert_of(api: httpx.AsyncClient, student_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        r = await api.get("/struggles", params={"student_id": student_id})
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items[0] if items else None

    found: dict[str, Any] = await eventually(check, timeout=45)
    return found


async def _history_caught_up(api: httpx.AsyncClient, student_id: str, overall: float) -> None:
    """The read model has the student's latest overall mastery (the projection is
    asynchronous)."""

    async def check() -> bool:
        r = await api.get(f"/progress/{student_id}/history", params={"topic_id": "*"})
        assert r.status_code == 200, r.text
        points = r.json()["points"]
        return bool(points) and points[-1]["score"] == overall

    await eventually(check, timeout=45)


@pytest.fixture
async def flagged(api: httpx.AsyncClient, dapr: httpx.AsyncClient, student_id: str) -> Flagged:
    """A student with progress in two topics and a low_quiz alert (with evidence), in a
    class taught by ``t-in-<id>``; ``t-out-<id>`` teaches another class."""
    teacher_id = f"t-in-{student_id}"
    await put_class(api, f"cls-{student_id}", [teacher_id], [student_id])
    await put_class(api, f"else-{student_id}", [f"t-out-{student_id}"], [f"x-{student_id}"])
    student = Student(dapr, student_id)
    await student.send("exercise.quiz_graded", "python.functions", quiz_id="q0", score=80)
    await student.send("exercise.quiz_graded", "python.loops", quiz_id="q1", score=5)
    progress = await applied(api, student_id, 2)
    alert = await _alert_of(api, student_id)
    await _history_caught_up(api, student_id, progress["overall_mastery"])
    return Flagged(
        student_id,
        alert["id"],
        bearer("teacher", teacher_id),
        bearer("teacher", f"t-out-{student_id}"),
        teacher_id,
    )


@pytest.fixture
async def app_client(ports: Ports) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=15) as client:
        yield client


async def test_the_page_shows_the_apis_topics_and_components(
    app_client: httpx.AsyncClient, flagged: Flagged
) -> None:
    sid = flagged.student_id
    api = (await app_client.get(f"/progress/{sid}", headers=flagged.teacher)).json()
    r = await app_client.get(f"/console/students/{sid}", headers=flagged.teacher)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    page = parse(r.text)
    assert page.find(data_testid="overall-mastery").text == str(api["overall_mastery"])
    rows = page.find(data_testid="topics").find_all(data_testid="topic-row")
    assert [row.attrs["data-topic-id"] for row in rows] == [t["topic_id"] for t in api["topics"]]
    for row, topic in zip(rows, api["topics"], strict=True):
        assert row.find(data_testid="score").text == str(topic["score"])
        assert row.find(data_testid="level").text == topic["level"]
        for name, value in topic["components"].items():
            assert row.find(data_component=name).text == str(value), name
    assert {t["topic_id"] for t in api["topics"]} == {"python.functions", "python.loops"}


async def test_the_history_island_is_the_apis_history(
    app_client: httpx.AsyncClient, flagged: Flagged
) -> None:
    sid = flagged.student_id
    r = await app_client.get(f"/console/students/{sid}", headers=flagged.teacher)
    assert r.status_code == 200, r.text
    history = await app_client.get(f"/progress/{sid}/history", headers=flagged.teacher)
    assert history.status_code == 200
    assert island(r.text) == history.json()
    topics = {p["topic_id"] for p in history.json()["points"]}
    assert topics == {"*", "python.functions", "python.loops"}
    page = parse(r.text)
    assert page.find_all(data_testid="history-chart")
    header = page.find(data_testid="history-table").find_all_tags("th")
    assert [h.text for h in header[:4]] == ["Day", "Overall", "python.functions", "python.loops"]
    assert '<script src="/console/static/vendor/uPlot.iife.min.js" defer></script>' in r.text
    vendored = await app_client.get("/console/static/vendor/uPlot.iife.min.js")
    assert vendored.status_code == 200 and "uPlot" in vendored.text[:200]


async def test_the_alert_appears_with_its_evidence_and_rule(
    app_client: httpx.AsyncClient, flagged: Flagged
) -> None:
    api = await app_client.get(f"/struggles/{flagged.alert_id}", headers=flagged.teacher)
    alert = api.json()
    assert alert["evidence"] and alert["rule"]
    r = await app_client.get(f"/console/students/{flagged.student_id}", headers=flagged.teacher)
    card = parse(r.text).find(data_testid="alert", data_alert_id=flagged.alert_id)
    assert card.attrs["data-status"] == "open"
    assert card.find(data_testid="alert-status").text == "open"
    evidence = dict(card.find(data_testid="evidence").pairs())
    assert set(alert["evidence"]) <= set(evidence)
    assert evidence["quiz_id"] == "q1" and evidence["score"] == str(alert["evidence"]["score"])
    rule = dict(card.find(data_testid="alert-rule").pairs())
    assert rule["kind"] == "low_quiz"
    for name, value in alert["rule"]["thresholds"].items():
        assert rule[name] == str(value)
    for button in ("ack", "resolve", "resolve-not-useful"):
        assert "disabled" not in card.find(data_testid=button).attrs


async def test_acknowledge_with_a_bearer_token_is_what_the_api_then_shows(
    app_client: httpx.AsyncClient, flagged: Flagged
) -> None:
    back = f"/console/students/{flagged.student_id}"
    r = await app_client.post(
        f"/console/alerts/{flagged.alert_id}/acknowledge",
        headers=flagged.teacher,
        data={"back": back},
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == back
    alert = (await app_client.get(f"/struggles/{flagged.alert_id}", headers=flagged.teacher)).json()
    assert (alert["status"], alert["acknowledged_by"]) == ("acknowledged", flagged.teacher_id)
    page = parse((await app_client.get(back, headers=flagged.teacher)).text)
    card = page.find(data_testid="alert", data_alert_id=flagged.alert_id)
    assert card.attrs["data-status"] == "acknowledged"
    assert card.find(data_testid="alert-who").text.startswith(f"by {flagged.teacher_id} at ")
    assert "disabled" in card.find(data_testid="ack").attrs
    assert "disabled" not in card.find(data_testid="resolve").attrs
    elsewhere = await app_client.post(
        f"/console/alerts/{flagged.alert_id}/acknowledge",
        headers=flagged.teacher,
        data={"back": "https://elsewhere.example/"},
    )
    assert (elsewhere.status_code, elsewhere.headers["location"]) == (303, back)


async def sign_in(client: httpx.AsyncClient, teacher_id: str) -> None:
    """Sign ``client`` in through the sign-in form: it then holds the session cookie."""
    form = await client.get("/console/sign-in")
    found = re.search(r'name="sign_in_token" value="([^"]+)"', form.text)
    assert form.status_code == 200 and found is not None
    r = await client.post(
        "/console/sign-in",
        data={
            "token": mint("teacher", teacher_id),
            "next": "/console/",
            "sign_in_token": found.group(1),
        },
    )
    assert r.status_code == 303, r.text
    assert client.cookies.get("progress_console")


async def test_a_cookie_post_needs_its_csrf_token(
    ports: Ports, app_client: httpx.AsyncClient, flagged: Flagged
) -> None:
    url = f"/console/alerts/{flagged.alert_id}/resolve"
    back = f"/console/students/{flagged.student_id}"
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=15) as browser:
        await sign_in(browser, flagged.teacher_id)
        refused = await browser.post(url, data={"reason": "not_useful", "back": back})
        assert refused.status_code == 403, refused.text
        assert "CSRF" in parse(refused.text).find(data_testid="error-detail").text
        wrong = await browser.post(url, data={"reason": "not_useful", "csrf_token": "0" * 64})
        assert wrong.status_code == 403
        alert = await app_client.get(f"/struggles/{flagged.alert_id}", headers=flagged.teacher)
        assert alert.json()["status"] == "open"

        page = await browser.get(back)
        assert page.status_code == 200
        token = parse(page.text).find_all(name="csrf_token")[0].attrs["value"]
        done = await browser.post(
            url, data={"reason": "not_useful", "csrf_token": token, "back": back}
        )
        assert (done.status_code, done.headers["location"]) == (303, back)
    alert = await app_client.get(f"/struggles/{flagged.alert_id}", headers=flagged.teacher)
    body = alert.json()
    assert (body["status"], body["resolution_reason"]) == ("resolved", "not_useful")
    assert body["resolved_by"] == flagged.teacher_id


async def next_frame(lines: AsyncIterator[str], alert_id: str) -> tuple[str, dict[str, Any]]:
    """The next frame about ``alert_id``: its event name and data."""
    event: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if event.get("event", "").startswith("struggle"):
                data: dict[str, Any] = json.loads(event["data"])
                if data["id"] == alert_id:
                    return event["event"], data
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            event[name] = value.lstrip()
    raise AssertionError("stream ended")


async def test_the_stream_live_js_opens_resumes_after_the_page(
    ports: Ports, app_client: httpx.AsyncClient, flagged: Flagged
) -> None:
    """What live.js relies on: the session cookie opens the stream, and resuming after
    the change the page was rendered at (data-live-after) delivers a change made between
    the page and the stream's opening."""
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=60) as browser:
        await sign_in(browser, flagged.teacher_id)
        page = await browser.get(f"/console/students/{flagged.student_id}")
        main = parse(page.text).find_all_tags("main")[0]
        assert main.attrs["data-live-student"] == flagged.student_id
        after = main.attrs["data-live-after"]
        assert after.isdigit()
        ack = await app_client.post(
            f"/struggles/{flagged.alert_id}/acknowledge", headers=flagged.teacher
        )
        assert ack.status_code == 200
        url = f"/struggles/stream?last_event_id={after}"
        async with browser.stream("GET", url) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            name, data = await asyncio.wait_for(
                next_frame(stream.aiter_lines(), flagged.alert_id), 30
            )
    assert (name, data["change"], data["status"]) == (
        "struggle.acknowledged",
        "acknowledged",
        "acknowledged",
    )
    assert (data["student_id"], data["acknowledged_by"]) == (
        flagged.student_id,
        flagged.teacher_id,
    )


async def test_another_teacher_gets_the_apis_404(
    app_client: httpx.AsyncClient, flagged: Flagged
) -> None:
    sid = flagged.student_id
    api = await app_client.get(f"/progress/{sid}", headers=flagged.outsider)
    assert api.status_code == 404
    r = await app_client.get(f"/console/students/{sid}", headers=flagged.outsider)
    assert r.status_code == 404
    assert parse(r.text).find(data_testid="error-detail").text == api.json()["detail"]
    assert flagged.alert_id not in r.text

    for action, data in (("acknowledge", {}), ("resolve", {"reason": "not_useful"})):
        api_action = await app_client.post(
            f"/struggles/{flagged.alert_id}/{action}", headers=flagged.outsider
        )
        page_action = await app_client.post(
            f"/console/alerts/{flagged.alert_id}/{action}", headers=flagged.outsider, data=data
        )
        assert (api_action.status_code, page_action.status_code) == (404, 404)
        detail = parse(page_action.text).find(data_testid="error-detail").text
        assert detail == api_action.json()["detail"]
    alert = await app_client.get(f"/struggles/{flagged.alert_id}", headers=flagged.teacher)
    assert alert.json()["status"] == "open"


async def test_a_student_with_alerts_but_no_progress_and_an_unknown_one(
    app_client: httpx.AsyncClient, api: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    sid = f"quiet-{uuid.uuid4().hex[:8]}"
    teacher = f"t-{sid}"
    await put_class(api, f"cls-{sid}", [teacher], [sid])
    alert_id = uuid.uuid4()
    await pg.execute(
        "insert into struggle_alerts (id, student_id, kind, topic_id, severity, detected_at) "
        "values ($1, $2, 'inactivity', null, 'low', $3)",
        alert_id,
        sid,
        datetime.now(UTC),
    )
    r = await app_client.get(f"/console/students/{sid}", headers=bearer("teacher", teacher))
    assert r.status_code == 200, r.text
    page = parse(r.text)
    assert page.find_all(data_testid="no-progress")
    card = page.find(data_testid="alert", data_alert_id=str(alert_id))
    assert "No evidence recorded" in card.find(data_testid="evidence").text
    assert island(r.text) == {"student_id": sid, "points": []}

    unknown = f"never-{uuid.uuid4().hex[:8]}"
    for headers in (bearer("admin"), bearer("teacher", teacher)):
        missing = await app_client.get(f"/console/students/{unknown}", headers=headers)
        api_missing = await app_client.get(f"/progress/{unknown}", headers=headers)
        assert (missing.status_code, api_missing.status_code) == (404, 404)
