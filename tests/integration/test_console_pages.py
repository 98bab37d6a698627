"""The console's class pages on the real stack (issue 22), fetched with the API's bearer
token as a script would: My classes, a class's roster, heatmap and misconceptions, the
CSV export — each compared with what the API gives the same caller — and the API's 404
for a class the caller does not teach, the sign-in redirect without a credential."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.integration.stack import Ports, stack_secret
from tests.integration.support import Student, applied, bearer, eventually, put_class

TOPIC = "python.loops"
MINUS = "\u2212"
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})
AGREE_WITHIN_S = 20
LEVEL_FIELDS = ("students", "beginner", "learning", "proficient", "mastered")


# ---- a small DOM from the standard library's parser (no HTML library in the lock) ----


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join(" ".join(parts).split())

    def all(self, testid: str | None = None, tag: str | None = None) -> list[Node]:
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                if (testid is None or child.attrs.get("data-testid") == testid) and (
                    tag is None or child.tag == tag
                ):
                    found.append(child)
                found.extend(child.all(testid, tag))
        return found

    def one(self, testid: str) -> Node:
        [found] = self.all(testid)
        return found


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
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
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


# ---- the school: two teachers, their classes, students with progress and alerts ----


@dataclass(frozen=True)
class School:
    class_a: str  # teacher_a's: students with events, alerts, a misconception
    class_b: str  # teacher_b's
    class_c: str  # teacher_a's: 205 students without events (more than a page)
    teacher_a: str
    teacher_b: str
    weak: str
    mover: str
    formula_id: str  # a student id a spreadsheet would read as a formula


async def _history_has(api: httpx.AsyncClient, student_id: str, day: str) -> bool:
    r = await api.get(
        f"/progress/{student_id}/history", params={"topic_id": "*", "from": day, "to": day}
    )
    return r.status_code == 200 and bool(r.json()["points"])


async def _seed(api: httpx.AsyncClient, dapr: httpx.AsyncClient, tag: str) -> School:
    school = School(
        class_a=f"cp-{tag}-a",
        class_b=f"cp-{tag}-b",
        class_c=f"cp-{tag}-c",
        teacher_a=f"cpt-{tag}-a",
        teacher_b=f"cpt-{tag}-b",
        weak=f"cps-{tag}-weak",
        mover=f"cps-{tag}-mover",
        formula_id=f"@cps-{tag}",
    )
    strong, idle, dash = f"cps-{tag}-strong", f"cps-{tag}-idle", f"-cps-{tag}"
    active = [school.weak, strong, school.formula_id, school.mover]
    await put_class(api, school.class_a, [school.teacher_a], [*active, idle, dash])
    await put_class(api, school.class_b, [school.teacher_b], [f"cps-{tag}-other"])
    big = [f"cps-{tag}-c{i:03d}" for i in range(205)]
    await put_class(api, school.class_c, [school.teacher_a], big)

    # the mover: a low quiz three days ago, a high one now (a 7-day change to show)
    earlier = datetime.now(UTC) - timedelta(days=3)
    mover = Student(dapr, school.mover)
    await mover.send(
        "exercise.quiz_graded", TOPIC, quiz_id="q0", score=10, occurred_at=earlier.isoformat()
    )
    await applied(api, school.mover, 1)
    await eventually(lambda: _history_has(api, school.mover, earlier.date().isoformat()))
    await mover.send("exercise.quiz_graded", TOPIC, quiz_id="q1", score=95)
    for sid, score in ((school.weak, 10), (strong, 95), (school.formula_id, 60)):
        await Student(dapr, sid).send("exercise.quiz_graded", TOPIC, quiz_id="q1", score=score)
    # three of six hit the same error in the topic: a class misconception
    for sid in (school.weak, strong, school.formula_id):
        await Student(dapr, sid).send(
            "code.executed", TOPIC, success=False, error_type="TypeError", error_message="x"
        )
    for sid in active:
        await applied(api, sid, 2)
    return school


async def _settled(api: httpx.AsyncClient, school: School) -> bool:
    """The class table shows every event and the alerts they raise."""
    teacher = bearer("teacher", school.teacher_a)
    r = await api.get(f"/classes/{school.class_a}/students", headers=teacher)
    rows = {row["student_id"]: row for row in r.json()["items"]}
    misconceptions = await api.get(
        "/struggles",
        params={"class_id": school.class_a, "kind": "class_misconception"},
        headers=teacher,
    )
    return (
        rows[school.weak]["open_alerts"]["high"] > 0
        and bool(rows[school.mover]["mastery_change_7d"])
        and rows[school.formula_id]["overall_mastery"] is not None
        and bool(misconceptions.json()["items"])
    )


@pytest.fixture(scope="module")
async def school(ports: Ports) -> School:
    tag = uuid.uuid4().hex[:8]
    dapr_token = {"dapr-api-token": stack_secret("dapr_api_token")}
    async with (
        httpx.AsyncClient(base_url=ports.app_url, timeout=30, headers=bearer("admin")) as api,
        httpx.AsyncClient(base_url=ports.dapr_url, timeout=15, headers=dapr_token) as dapr,
    ):
        found = await _seed(api, dapr, tag)
        await eventually(lambda: _settled(api, found), timeout=60)
    return found


@pytest.fixture
async def client(ports: Ports) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=30) as http:
        yield http


async def _api(http: httpx.AsyncClient, teacher: str, path: str, **params: Any) -> Any:
    r = await http.get(path, params=params, headers=bearer("teacher", teacher))
    assert r.status_code == 200, r.text
    return r.json()


async def _page(http: httpx.AsyncClient, teacher: str, path: str) -> Node:
    r = await http.get(path, headers=bearer("teacher", teacher))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    return parse(r.text)


async def _same(check: Callable[[], Awaitable[tuple[Any, Any]]]) -> tuple[Any, Any]:
    """The page's and the API's values, once they agree: background work (a late alert,
    the projection) may change the API between the two reads, so they are read again
    for a while; a page that shows something else never agrees and the test fails with
    the difference."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + AGREE_WITHIN_S
    while True:
        shown, expected = await check()
        if shown == expected or loop.time() > deadline:
            assert shown == expected
            return shown, expected
        await asyncio.sleep(0.3)


def _roster_ids(page: Node) -> list[str]:
    return [row.attrs["data-student-id"] for row in page.one("roster").all("student-row")]


def _signed(change: float) -> str:
    return f"+{change:.1f} points" if change > 0 else f"{MINUS}{-change:.1f} points"


# ---- My classes ----


async def test_my_classes_lists_the_teachers_classes_only(
    client: httpx.AsyncClient, school: School
) -> None:
    page = await _page(client, school.teacher_a, "/console/")
    rows = {r.attrs["data-class-id"]: r for r in page.one("classes").all("class-row")}
    assert school.class_a in rows and school.class_c in rows
    assert school.class_b not in rows
    listed = await _api(client, school.teacher_a, "/classes")
    assert sorted(rows) == sorted(c["class_id"] for c in listed["items"])
    link = rows[school.class_a].one("class-link")
    assert link.attrs["href"] == f"/console/classes/{school.class_a}"
    assert rows[school.class_c].one("student-count").text() == "205"

    other = await _page(client, school.teacher_b, "/console/")
    ids = [r.attrs["data-class-id"] for r in other.one("classes").all("class-row")]
    assert ids == [school.class_b]


async def test_my_classes_counts_alerts_and_names_who_changed_most(
    client: httpx.AsyncClient, school: School
) -> None:
    async def read() -> tuple[Any, Any]:
        page = await _page(client, school.teacher_a, "/console/")
        [row] = [r for r in page.all("class-row") if r.attrs["data-class-id"] == school.class_a]
        shown = {
            "alerts": {s: row.one(f"alerts-{s}").text() for s in ("high", "medium", "low")},
            "mover": row.one("mover-student").text(),
            "change": row.one("mover-change").text(),
        }
        table = await _api(client, school.teacher_a, f"/classes/{school.class_a}/students")
        items = table["items"]
        totals = {s: sum(r["open_alerts"][s] for r in items) for s in ("high", "medium", "low")}
        moved = [r for r in items if r["mastery_change_7d"]]
        top = max(moved, key=lambda r: abs(r["mastery_change_7d"]))
        expected = {
            "alerts": {s: f"{n} {s}" if n else "0" for s, n in totals.items()},
            "mover": top["student_id"],
            "change": _signed(top["mastery_change_7d"]),
        }
        return shown, expected

    shown, _ = await _same(read)
    assert shown["mover"] == school.mover  # the only student with two days of history
    assert shown["change"].startswith("+") and shown["alerts"]["high"] != "0"
    # a class whose students have no events: nobody changed
    page = await _page(client, school.teacher_a, "/console/")
    [big] = [r for r in page.all("class-row") if r.attrs["data-class-id"] == school.class_c]
    assert big.one("mover").text() == "no change"


# ---- a class ----


async def test_the_class_page_lists_students_in_the_apis_risk_order(
    client: httpx.AsyncClient, school: School
) -> None:
    path = f"/classes/{school.class_a}"

    async def read() -> tuple[Any, Any]:
        page = await _page(client, school.teacher_a, f"/console{path}")
        table = await _api(client, school.teacher_a, f"{path}/students")
        shown = [
            (r.attrs["data-student-id"], r.one("why-flagged").text())
            for r in page.one("roster").all("student-row")
        ]
        expected = [
            (r["student_id"], " ".join(r["why_flagged"]) or "not flagged") for r in table["items"]
        ]
        return shown, expected

    shown, _ = await _same(read)
    assert "open high alert" in shown[0][1]  # risk puts high alerts first (weak has one)
    page = await _page(client, school.teacher_a, f"/console{path}")
    main = page.all(tag="main")[0]
    assert main.attrs["data-live-class"] == school.class_a
    assert page.one("live").attrs["aria-live"] == "polite"
    assert page.one("csv-export").attrs["href"] == f"/console{path}/students.csv"
    [weak] = [r for r in page.all("student-row") if r.attrs["data-student-id"] == school.weak]
    links = [a.attrs["href"] for a in weak.all("student-link")]
    assert links == [f"/console/students/{school.weak}"]


@pytest.mark.parametrize("sort", ["risk", "mastery", "last_active", "student_id"])
async def test_sort_links_give_the_apis_order(
    client: httpx.AsyncClient, school: School, sort: str
) -> None:
    first = await _page(client, school.teacher_a, f"/console/classes/{school.class_a}")
    href = first.one(f"sort-{sort}").attrs["href"]

    async def read() -> tuple[Any, Any]:
        page = await _page(client, school.teacher_a, href)
        api = f"/classes/{school.class_a}/students"
        table = await _api(client, school.teacher_a, api, sort=sort)
        return _roster_ids(page), [r["student_id"] for r in table["items"]]

    await _same(read)
    page = await _page(client, school.teacher_a, href)
    assert page.one(f"sort-{sort}").attrs.get("aria-current") == "true"


async def test_the_roster_pages_with_the_apis_cursor(
    client: httpx.AsyncClient, school: School
) -> None:
    """205 students: 50 a page; the next link follows the API's cursor to the end."""
    api = f"/classes/{school.class_c}/students"
    href: str | None = f"/console/classes/{school.class_c}?sort=student_id"
    cursor: str | None = None
    pages = 0
    while href is not None:
        page = await _page(client, school.teacher_a, href)
        params = {"sort": "student_id"} | ({"cursor": cursor} if cursor else {})
        table = await _api(client, school.teacher_a, api, **params)
        assert _roster_ids(page) == [r["student_id"] for r in table["items"]]
        cursor = table["next_cursor"]
        nexts = page.all("roster-next")
        assert len(nexts) == (1 if cursor else 0)
        href = nexts[0].attrs["href"] if nexts else None
        pages += 1
    assert pages == 5  # 50 + 50 + 50 + 50 + 5


async def test_the_heatmap_shows_the_apis_topic_numbers(
    client: httpx.AsyncClient, school: School
) -> None:
    async def read() -> tuple[Any, Any]:
        page = await _page(client, school.teacher_a, f"/console/classes/{school.class_a}")
        api = await _api(client, school.teacher_a, f"/classes/{school.class_a}/topics")
        shown = {}
        for row in page.one("heatmap").all("heatmap-row"):
            cells = {c.attrs["data-field"]: c for c in row.all(tag="td")}
            numbers: dict[str, Any] = {f: int(cells[f].text()) for f in LEVEL_FIELDS}
            for f in ("mean_score", "median_score"):
                [value] = [s for s in cells[f].all(tag="span") if s.attrs.get("class") == "value"]
                numbers[f] = float(value.text())
            numbers["students_with_open_alerts"] = int(cells["students_with_open_alerts"].text())
            shown[row.attrs["data-topic-id"]] = numbers
        expected = {
            t["topic_id"]: {k: v for k, v in t.items() if k != "topic_id"} for t in api["topics"]
        }
        return shown, expected

    shown, _ = await _same(read)
    assert shown[TOPIC]["students"] == 4
    page = await _page(client, school.teacher_a, f"/console/classes/{school.class_a}")
    [row] = [r for r in page.one("heatmap").all("heatmap-row") if r.attrs["data-topic-id"] == TOPIC]
    mean = [c for c in row.all(tag="td") if c.attrs["data-field"] == "mean_score"][0]
    level = [s for s in mean.all(tag="span") if s.attrs.get("class") == "level-name"][0].text()
    assert level in ("Beginner", "Learning", "Proficient", "Mastered")  # written, not only a colour
    assert f"level-{level}" in mean.attrs["class"]


async def test_the_class_page_shows_the_classs_open_misconceptions(
    client: httpx.AsyncClient, school: School
) -> None:
    page = await _page(client, school.teacher_a, f"/console/classes/{school.class_a}")
    listed = await _api(
        client,
        school.teacher_a,
        "/struggles",
        class_id=school.class_a,
        kind="class_misconception",
    )
    unresolved = [a for a in listed["items"] if a["status"] != "resolved"]
    cards = page.one("misconceptions").all("misconception")
    assert [c.attrs["data-alert-id"] for c in cards] == [a["id"] for a in unresolved]
    [card] = cards
    text = card.text()
    assert "TypeError" in text and TOPIC in text
    share = unresolved[0]["details"]["share"]
    assert f"{share * 100:.0f} % of the class" in card.one("misconception-share").text()
    assert "3 of 6 students" in text
    other = await _page(client, school.teacher_b, f"/console/classes/{school.class_b}")
    assert other.one("misconceptions").all("misconception") == []


# ---- CSV ----


def _unescaped(cell: str) -> str:
    return cell[1:] if cell[:2] in ("'=", "'+", "'-", "'@") else cell


def _number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


async def test_the_csv_has_the_apis_rows_and_escapes_formula_like_ids(
    client: httpx.AsyncClient, school: School
) -> None:
    path = f"/classes/{school.class_a}"

    async def read() -> tuple[Any, Any]:
        r = await client.get(
            f"/console{path}/students.csv", headers=bearer("teacher", school.teacher_a)
        )
        assert r.status_code == 200, r.text
        lines = list(csv.reader(io.StringIO(r.text)))
        header, body = lines[0], lines[1:]
        table = await _api(client, school.teacher_a, f"{path}/students")
        topics = header[9:]
        shown = [
            {
                "student_id": _unescaped(line[0]),
                "overall_mastery": _number(line[1]),
                "level": line[2] or None,
                "mastery_change_7d": _number(line[3]),
                "open_alerts": {
                    s: int(line[5 + i]) for i, s in enumerate(("high", "medium", "low"))
                },
                "why_flagged": line[8],
                "topics": {t: float(v) for t, v in zip(topics, line[9:], strict=True) if v},
            }
            for line in body
        ]
        expected = [
            {
                "student_id": row["student_id"],
                "overall_mastery": row["overall_mastery"],
                "level": row["level"],
                "mastery_change_7d": row["mastery_change_7d"],
                "open_alerts": row["open_alerts"],
                "why_flagged": "; ".join(row["why_flagged"]),
                "topics": row["topics"],
            }
            for row in table["items"]
        ]
        return shown, expected

    await _same(read)
    r = await client.get(
        f"/console{path}/students.csv", headers=bearer("teacher", school.teacher_a)
    )
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        r.headers["content-disposition"] == f'attachment; filename="{school.class_a}-students.csv"'
    )
    first_cells = [line[0] for line in csv.reader(io.StringIO(r.text))]
    assert f"'{school.formula_id}" in first_cells and school.formula_id not in first_cells
    dash = [c for c in first_cells if c.startswith("'-")]
    assert len(dash) == 1  # the id that starts with a minus sign
    header = next(csv.reader(io.StringIO(r.text)))
    assert header[0] == "student_id" and TOPIC in header  # a column per topic


async def test_the_csv_holds_every_page_of_a_large_class(
    client: httpx.AsyncClient, school: School
) -> None:
    """205 students (the API's largest page is 200): all of them, in the sort asked for."""
    api = f"/classes/{school.class_c}/students"
    expected: list[str] = []
    cursor: str | None = None
    while True:
        params = {"sort": "student_id", "limit": 200} | ({"cursor": cursor} if cursor else {})
        table = await _api(client, school.teacher_a, api, **params)
        expected += [r["student_id"] for r in table["items"]]
        cursor = table["next_cursor"]
        if cursor is None:
            break
    r = await client.get(
        f"/console/classes/{school.class_c}/students.csv",
        params={"sort": "student_id"},
        headers=bearer("teacher", school.teacher_a),
    )
    assert r.status_code == 200, r.text
    ids = [line[0] for line in csv.reader(io.StringIO(r.text))][1:]
    assert ids == expected and len(ids) == 205


# ---- who may see what ----


async def test_another_teachers_class_is_the_apis_404(
    client: httpx.AsyncClient, school: School
) -> None:
    api = await client.get(
        f"/classes/{school.class_a}/students", headers=bearer("teacher", school.teacher_b)
    )
    assert api.status_code == 404
    for path in ("", "/students.csv", "?sort=mastery"):
        r = await client.get(
            f"/console/classes/{school.class_a}{path}", headers=bearer("teacher", school.teacher_b)
        )
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
        page = parse(r.text)
        assert page.one("error-status").text() == "404"
        assert page.one("error-detail").text() == api.json()["detail"]
        assert school.weak not in r.text


async def test_without_a_credential_the_console_sends_to_sign_in(
    client: httpx.AsyncClient, school: School
) -> None:
    r = await client.get("/console/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/console/sign-in?next=/console/"
    path = f"/console/classes/{school.class_a}?sort=mastery"
    r = await client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/console/sign-in?next={quote(path)}"
    r = await client.get(f"/console/classes/{school.class_a}/students.csv", follow_redirects=False)
    assert r.status_code == 303
