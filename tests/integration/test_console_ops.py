"""The operators' page and GET /ops/intake on the real stack (issue 22), fetched with the
API's bearer token: each section with real numbers — a poison event's dead letter with
its reason, consumer lag equal to what Kafka itself says, the actor types, placement,
a student's reminders, this replica's counts and open alerts — and a teacher refused
both the page and the route."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.stack import INBOUND_TOPICS, Ports
from tests.integration.support import (
    Student,
    applied,
    bearer,
    eventually,
    publish,
    student_event,
)

DEAD = "progress.deadletter"
SECTIONS = ("actors", "placement", "consumer-lag", "dead-letters", "reminders")
VOID = frozenset({"br", "input", "link", "meta", "img", "hr"})
STABLE_TRIES = 40  # reads of Kafka around one of the route's, until two agree


# ---- the page's elements by data-testid (the standard library's parser) ----------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join(" ".join(parts).split())

    def find(self, testid: str) -> list[Element]:
        found: list[Element] = []
        for child in self.children:
            if isinstance(child, Element):
                if child.attrs.get("data-testid") == testid:
                    found.append(child)
                found.extend(child.find(testid))
        return found

    def one(self, testid: str) -> Element:
        [found] = self.find(testid)
        return found


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.open[-1].children.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def parse(html: str) -> Element:
    tree = _Tree()
    tree.feed(html)
    return tree.root


# ---- Kafka as Kafka itself reports it ------------------------------------------------------


Offsets = dict[tuple[str, int], tuple[int | None, int]]


async def kafka_offsets(bootstrap: str, group: str) -> Offsets:
    """(topic, partition) -> (the group's committed offset or None, log end offset)."""
    topics = [*INBOUND_TOPICS, DEAD]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics(topics)
        partitions = [
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
        ]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await consumer.stop()
        await admin.close()
    commits = {tp: meta.offset for tp, meta in committed.items() if meta.offset >= 0}
    return {(tp.topic, tp.partition): (commits.get(tp), ends[tp]) for tp in partitions}


def route_offsets(report: dict[str, Any]) -> Offsets:
    return {
        (topic["topic"], p["partition"]): (p["committed_offset"], p["log_end_offset"])
        for topic in report["topics"]
        for p in topic["partitions"]
    }


async def stable_intake(api: httpx.AsyncClient, ports: Ports) -> tuple[dict[str, Any], Offsets]:
    """The route's report read between two reads of Kafka that agree: the figures did
    not move meanwhile, so the route's must be Kafka's."""
    bootstrap = f"127.0.0.1:{ports.kafka}"
    for _ in range(STABLE_TRIES):
        before = await kafka_offsets(bootstrap, ports.app_id)
        response = await api.get("/ops/intake")
        after = await kafka_offsets(bootstrap, ports.app_id)
        assert response.status_code == 200, response.text
        if before == after:
            return response.json(), before
        await asyncio.sleep(0.5)
    raise AssertionError(f"Kafka's offsets kept moving over {STABLE_TRIES} reads")


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture
async def teacher(ports: Ports) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=ports.app_url, timeout=15, headers=bearer("teacher", "ops-page-teacher")
    ) as client:
        yield client


async def poisoned(api: httpx.AsyncClient, dapr: httpx.AsyncClient, student_id: str) -> str:
    """A poison event (score 250) published as a producer would; its event id once the
    service has dead-lettered it and /ops/intake lists it."""
    marker = f"ops-poison-{uuid.uuid4().hex[:8]}"
    event = student_event(
        "exercise.submitted", student_id, marker, exercise_id="ex1", passed=True, score=250
    )
    await publish(dapr, "exercise.events", event, key=student_id)

    async def listed() -> bool:
        response = await api.get("/ops/intake", params={"last": 100})
        letters = response.json()["dead_letters"]["latest"]
        return any(letter["event_id"] == marker for letter in letters)

    await eventually(listed, timeout=45)
    return marker


# ---- tests ------------------------------------------------------------------------------


async def test_intake_lists_the_dead_letter_with_its_reason(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, student_id: str
) -> None:
    marker = await poisoned(api, dapr, student_id)
    report = (await api.get("/ops/intake", params={"last": 100})).json()
    assert (report["configured"], report["reachable"], report["error"]) == (True, True, None)
    [letter] = [d for d in report["dead_letters"]["latest"] if d["event_id"] == marker]
    assert letter["written_by"] == "service"
    assert "score: Input should be less than or equal to 100" in letter["reason"]
    assert (letter["student_id"], letter["source_topic"]) == (student_id, "exercise.events")
    assert letter["event_type"] == "exercise.submitted"
    assert report["dead_letters"]["total"] >= 1
    assert report["replica"]["dead_lettered"] >= 1
    assert [t["topic"] for t in report["topics"]] == [*INBOUND_TOPICS, DEAD]


async def test_lag_is_what_kafka_says(api: httpx.AsyncClient, ports: Ports) -> None:
    report, kafka = await stable_intake(api, ports)
    assert report["consumer_group"] == ports.app_id
    assert route_offsets(report) == kafka
    for topic in report["topics"]:
        assert topic["exists"] is True
        for p in topic["partitions"]:
            committed, end = kafka[(topic["topic"], p["partition"])]
            expected = None if committed is None else end - committed
            assert p["lag"] == expected
        lags = [p["lag"] for p in topic["partitions"] if p["lag"] is not None]
        assert topic["lag"] == (sum(lags) if lags else None)
    inbound = [t for t in report["topics"] if t["role"] == "inbound"]
    # the tests published on the inbound topics and the group committed what it read
    assert sum(p["log_end_offset"] for t in inbound for p in t["partitions"]) > 0
    assert any(p["committed_offset"] for t in inbound for p in t["partitions"])


async def test_the_admin_page_shows_every_section_with_real_numbers(
    api: httpx.AsyncClient, dapr: httpx.AsyncClient, ports: Ports, student_id: str
) -> None:
    marker = await poisoned(api, dapr, student_id)
    # a valid event: the student's actor is active and its state arms a wake-up reminder
    event = student_event(
        "exercise.submitted", student_id, f"ok-{marker}", exercise_id="ex1", passed=True, score=80
    )
    await publish(dapr, "exercise.events", event, key=student_id)
    await applied(api, student_id, 1)

    response = await api.get("/console/ops")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response.text)
    for testid in SECTIONS:
        assert len(page.find(testid)) == 1, testid

    # actors and placement: what /ops/actors gives
    actors = (await api.get("/ops/actors")).json()
    rows = {row.attrs["data-actor-type"]: row for row in page.find("actor-type")}
    assert set(rows) == {a["type"] for a in actors["actor_types"]}
    student_actors = rows["StudentProgressActor"].one("active-count").text()
    assert student_actors.endswith(" actors") or student_actors == "1 actor"
    assert int(student_actors.split()[0].replace(",", "")) >= 1
    hosts = page.one("placement").find("placement-host")
    assert len(hosts) == len(actors["placement_hosts"]) >= 1
    placement_text = page.one("placement").text()
    for host in actors["placement_hosts"]:
        assert host["address"] in placement_text

    # dead letters: the poison event's row with its reason
    letters = page.one("dead-letters")
    [row] = [r for r in letters.find("dead-letter") if r.attrs["data-event-id"] == marker]
    assert row.attrs["data-written-by"] == "service"
    reason = row.one("dead-letter-reason").text()
    assert "score: Input should be less than or equal to 100" in reason
    assert student_id in row.text() and "exercise.events" in row.text()
    total = letters.one("dead-letter-total").text()
    assert total.endswith(("record", "records")) and int(total.split()[0].replace(",", "")) >= 1

    # consumer lag: one row per topic, with numbers and a unit
    lag = page.one("consumer-lag")
    assert lag.one("consumer-group").text() == ports.app_id
    topics = {row.attrs["data-topic"] for row in lag.find("topic-lag")}
    assert topics == {*INBOUND_TOPICS, DEAD}
    partitions = lag.find("partition-lag")
    assert partitions and all(p.attrs["data-log-end"].isdigit() for p in partitions)

    # this replica's counts, and open alerts by kind as the alert table has them
    processed = page.one("replica-processed").text()
    assert int(processed.split()[0].replace(",", "")) >= 1
    assert "event" in processed
    kinds = {r.attrs["data-kind"] for r in page.one("open-alerts").find("open-alert-kind")}
    assert "inactivity" in kinds and "stuck" in kinds


async def test_open_alerts_by_kind_are_the_tables(
    api: httpx.AsyncClient, pg: asyncpg.Connection
) -> None:
    query = (
        "select kind, count(*) from struggle_alerts "
        "where status in ('open', 'acknowledged') group by kind"
    )
    for _ in range(STABLE_TRIES):
        before = dict(await pg.fetch(query))
        page = parse((await api.get("/console/ops")).text)
        after = dict(await pg.fetch(query))
        if before == after:
            break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError("the open alerts kept changing")
    shown = {
        r.attrs["data-kind"]: int(r.attrs["data-count"])
        for r in page.one("open-alerts").find("open-alert-kind")
    }
    assert {k: n for k, n in shown.items() if n} == {k: int(n) for k, n in before.items()}


async def test_the_reminders_form_shows_a_students_reminders(
    api: httpx.AsyncClient, student: Student, student_id: str
) -> None:
    # an exercise started now: its state arms the wake-up reminder (stuck, inactivity)
    await student.send("exercise.started", "python.loops", exercise_id="ops-page")
    await applied(api, student_id, 1)
    expected = (await api.get(f"/ops/students/{student_id}/reminders")).json()["reminders"]
    assert expected, "a started exercise arms the wake-up reminder"

    response = await api.get("/console/ops", params={"student_id": student_id})
    assert response.status_code == 200
    section = parse(response.text).one("reminders")
    form = [e for e in section.children if isinstance(e, Element) and e.tag == "form"][0]
    assert any(
        isinstance(c, Element) and c.attrs.get("name") == "student_id" for c in form.children
    )
    rows = section.find("reminder")
    assert len(rows) == len(expected)
    for row, reminder in zip(rows, expected, strict=True):
        assert reminder["name"] in row.text()
        assert row.attrs["data-pending"] == ("yes" if reminder["pending_in_scheduler"] else "no")
        for deadline in reminder["deadlines"]:
            assert deadline["kind"] in row.text()

    never = f"never-{uuid.uuid4().hex[:8]}"
    response = await api.get("/console/ops", params={"student_id": never})
    assert response.status_code == 200  # the other sections still show
    problem = parse(response.text).one("reminders").one("reminders-problem").text()
    assert problem == f"no events have been received for student {never!r}"


async def test_a_bad_student_id_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/console/ops", params={"student_id": "no spaces/or slashes"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")


async def test_a_teacher_gets_403_on_the_page_and_the_route(teacher: httpx.AsyncClient) -> None:
    page = await teacher.get("/console/ops")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "needs one of ['admin']" in parse(page.text).one("error-detail").text()
    route = await teacher.get("/ops/intake")
    assert route.status_code == 403
    assert route.headers["content-type"].startswith("application/problem+json")
    assert route.json()["type"].endswith("/forbidden")
