"""The teacher console in a real browser (issue 22): Playwright driving Debian's chromium
(``PROGRESS_CHROMIUM``, default /usr/bin/chromium; runtime/test.sh installs it through
runtime/preflight.sh) against the real stack of the integration session.

A teacher signs in by pasting a token, finds the flagged student in two clicks, sees the
plotted history and the alert's evidence, acknowledges it, and a second browser signed
in as a co-teacher sees it change live; a teacher of another class gets the API's 404;
a form post without its CSRF token is refused; the roster is reached with the keyboard
and readable at 200 % zoom. The run saves screenshots of the three main pages into
docs/console/ (overwritten each run, so they show what the console does now).

The pages are found by the data-testid contract of the console's templates."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Request,
    async_playwright,
    expect,
)

from service.dev_token import mint
from tests.integration.stack import REPO, Ports, stack_secret
from tests.integration.support import Student, applied, bearer, eventually

CHROMIUM = os.environ.get("PROGRESS_CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO / "docs" / "console"
VIEWPORT = {"width": 1280, "height": 900}
# generous waits for an element (an alert raised through Kafka, a live frame): never a
# measure of speed, only how long to wait before calling it missing
WAIT_MS = 45_000
SESSION_COOKIE = "progress_console"

# wraps EventSource so a test can wait until the page's live stream is open (the stream
# fixes its position when it answers: a change made after that is delivered)
TRACK_EVENT_SOURCES = """
(() => {
  const Original = window.EventSource;
  if (!Original) return;
  window.__eventSources = [];
  window.EventSource = class extends Original {
    constructor(...args) { super(...args); window.__eventSources.push(this); }
  };
})();
"""
STREAM_OPEN = "() => (window.__eventSources || []).some(s => s.readyState === EventSource.OPEN)"


# ------------------------------------------------------------------ the browser
@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One headless chromium for the module. A missing binary fails the tests (never a
    skip) with how to install it."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no chromium at {CHROMIUM} for the console's browser tests. Install Debian's "
            "chromium and fonts-liberation: `make test` as root does it (runtime/test.sh "
            "runs runtime/preflight.sh with PREFLIGHT_BROWSER=1), or run "
            "`apt-get install chromium fonts-liberation`; or point PROGRESS_CHROMIUM at a "
            "Chromium binary. (Playwright's own download, `playwright install`, is not used.)",
            pytrace=False,
        )
    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        # Debian's security updates move chromium; playwright is pinned for one major
        sys.stderr.write(f"browser tests: chromium {launched.version} at {CHROMIUM}\n")
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Console:
    """Browser contexts on the test app, each a separate browser profile (cookies), with
    what their pages did wrong: uncaught script errors and requests to other hosts (the
    console serves its scripts itself: no CDN)."""

    browser: Browser
    base: str
    contexts: list[BrowserContext] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    async def context(self, **options: Any) -> BrowserContext:
        context = await self.browser.new_context(
            base_url=self.base, **{"viewport": VIEWPORT, **options}
        )
        context.set_default_timeout(WAIT_MS)
        await context.add_init_script(TRACK_EVENT_SOURCES)
        context.on("page", self._watch)
        context.on("request", self._request)
        self.contexts.append(context)
        return context

    def _watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))

    def _request(self, request: Request) -> None:
        if not request.url.startswith(self.base + "/"):
            self.foreign_requests.append(request.url)

    async def sign_in(self, subject: str, role: str = "teacher", **options: Any) -> Page:
        """A new browser signed in as ``subject`` by pasting a token minted as
        `make token` does; the page is where the sign-in landed."""
        page = await (await self.context(**options)).new_page()
        await page.goto("/console/sign-in")
        await paste_token(page, mint(role, subject))
        await page.wait_for_url(f"{self.base}/console/")
        return page

    def assert_clean(self) -> None:
        assert self.page_errors == [], self.page_errors
        assert self.foreign_requests == [], self.foreign_requests

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def console(browser: Browser, ports: Ports) -> AsyncIterator[Console]:
    c = Console(browser, ports.app_url)
    try:
        yield c
    finally:
        await c.close()


async def paste_token(page: Page, token: str) -> None:
    await page.locator("textarea[name=token]").fill(token)
    await page.get_by_role("button", name="Sign in").click()


# ------------------------------------------------------------------ the class
@dataclass(frozen=True)
class Scene:
    class_id: str
    other_class_id: str
    teacher: str
    co_teacher: str
    stranger: str  # teaches the other class only
    flagged: str
    others: tuple[str, ...]
    other_student: str  # in the other class
    high_alert: str  # the flagged student's low_quiz in python.loops (high)
    low_alert: str  # their low_quiz in python.functions (low)


def days_ago(days: int) -> str:
    when = datetime.now(UTC) - timedelta(days=days)
    return when.replace(hour=10, minute=0, second=0, microsecond=0).isoformat()


Event = tuple[str, str, str, dict[str, Any]]  # student, type, topic, fields


def quiz(student: str, topic: str, quiz_id: str, score: int) -> Event:
    return (student, "exercise.quiz_graded", topic, {"quiz_id": quiz_id, "score": score})


def exercise(student: str, topic: str, exercise_id: str, score: int) -> Event:
    fields = {"exercise_id": exercise_id, "passed": score >= 50, "score": score}
    return (student, "exercise.submitted", topic, fields)


def history(s: Scene) -> list[tuple[int, list[Event]]]:
    """Two weeks of a class, by days ago: Ada's quizzes fall to 5 today (a high alert in
    python.loops) and 40 (a low one in python.functions); the others do fine."""
    ada, ben, cleo, dev = (s.flagged, *s.others)
    loops, functions = "python.loops", "python.functions"
    return [
        (12, [quiz(ada, loops, "loops-1", 92), exercise(ada, loops, "ex-loops-1", 90)]),
        (12, [quiz(ben, loops, "loops-1", 70)]),
        (9, [quiz(ada, functions, "functions-1", 88), exercise(ada, functions, "ex-fn-1", 85)]),
        (9, [exercise(ben, loops, "ex-loops-1", 80), quiz(dev, loops, "loops-1", 88)]),
        (5, [quiz(ada, loops, "loops-2", 74), quiz(cleo, loops, "loops-2", 62)]),
        (5, [quiz(ben, functions, "functions-1", 78)]),
        (3, [exercise(cleo, loops, "ex-loops-1", 70), quiz(dev, functions, "functions-1", 70)]),
        (
            0,
            [
                quiz(ada, loops, "loops-3", 5),  # < 25: high
                quiz(ada, functions, "functions-2", 40),  # < 50: low
                quiz(ben, loops, "loops-3", 85),
                quiz(ben, functions, "functions-2", 90),
                quiz(cleo, loops, "loops-3", 78),
                quiz(dev, loops, "loops-3", 96),
                quiz(dev, functions, "functions-2", 64),
                quiz(s.other_student, loops, "loops-1", 81),
            ],
        ),
    ]


@pytest.fixture(scope="module")
async def scene(ports: Ports) -> Scene:
    """A class of four taught by two teachers, one student struggling (a high and a low
    alert, mastery falling over two weeks, so there is a history to plot), and another
    teacher's class. Readable ids with a run tag: they appear in the screenshots."""
    tag = uuid.uuid4().hex[:4]
    s = Scene(
        class_id=f"py1-{tag}",
        other_class_id=f"py2-{tag}",
        teacher=f"ms-lee-{tag}",
        co_teacher=f"mr-diaz-{tag}",
        stranger=f"ms-ray-{tag}",
        flagged=f"ada-{tag}",
        others=(f"ben-{tag}", f"cleo-{tag}", f"dev-{tag}"),
        other_student=f"zoe-{tag}",
        high_alert="",
        low_alert="",
    )
    dapr_headers = {"dapr-api-token": stack_secret("dapr_api_token")}
    async with (
        httpx.AsyncClient(base_url=ports.app_url, timeout=30, headers=bearer("admin")) as api,
        httpx.AsyncClient(base_url=ports.dapr_url, timeout=30, headers=dapr_headers) as dapr,
    ):
        for class_id, title, teachers, students in (
            (s.class_id, "Python 1 · period 3", [s.teacher, s.co_teacher], [s.flagged, *s.others]),
            (s.other_class_id, "Python 2 · period 5", [s.stranger], [s.other_student]),
        ):
            body = {"title": title, "teacher_ids": teachers, "student_ids": students}
            r = await api.put(f"/classes/{class_id}", json=body)
            assert r.status_code == 200, r.text

        people = {sid: Student(dapr, sid) for sid in (s.flagged, *s.others, s.other_student)}
        # each day's events are applied before the next day's are sent: the history has
        # a point per day of a turn's newest event, so separate turns make the days
        for days, events in history(s):
            for sid, event_type, topic, fields in events:
                when = {"occurred_at": days_ago(days)} if days else {}
                await people[sid].send(event_type, topic, **fields, **when)
            for sid in {sid for sid, *_ in events}:
                await applied(api, sid, people[sid].published)

        async def both_alerts() -> dict[str, str] | None:
            r = await api.get("/struggles", params={"student_id": s.flagged, "status": "open"})
            assert r.status_code == 200, r.text
            by_topic = {
                a["topic_id"]: a["id"] for a in r.json()["items"] if a["kind"] == "low_quiz"
            }
            return by_topic if {"python.loops", "python.functions"} <= set(by_topic) else None

        found: dict[str, str] = await eventually(both_alerts, timeout=45)

        async def flagged_first() -> bool:
            r = await api.get(f"/classes/{s.class_id}/students", params={"sort": "risk"})
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            return len(items) == 4 and items[0]["student_id"] == s.flagged

        await eventually(flagged_first, timeout=45)
    return replace(s, high_alert=found["python.loops"], low_alert=found["python.functions"])


async def api_get(ports: Ports, path: str, who: dict[str, str], **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=30, headers=who) as client:
        return await client.get(path, params=params)


def alert_on(page: Page, alert_id: str) -> Locator:
    return page.locator(f'[data-testid="alert"][data-alert-id="{alert_id}"]')


# ------------------------------------------------------------------ sign-in
async def test_sign_in_by_pasting_a_token_sets_an_httponly_session_cookie(
    console: Console, scene: Scene
) -> None:
    page = await console.sign_in(scene.teacher)
    await expect(page.get_by_test_id("signed-in-as")).to_have_text(scene.teacher)
    cookies = {c["name"]: c for c in await page.context.cookies()}
    session = cookies[SESSION_COOKIE]
    assert (session.get("httpOnly"), session.get("sameSite")) == (True, "Lax")
    assert await page.evaluate("document.cookie") == ""  # scripts cannot read it

    # signed out: the cookie is gone and a console page asks to sign in again
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{console.base}/console/sign-in")
    assert SESSION_COOKIE not in {c["name"] for c in await page.context.cookies()}
    await page.goto(f"/console/classes/{scene.class_id}")
    assert page.url.startswith(f"{console.base}/console/sign-in?next=")
    console.assert_clean()


async def test_a_console_page_asks_to_sign_in_and_comes_back_after(
    console: Console, scene: Scene
) -> None:
    page = await (await console.context()).new_page()
    target = f"/console/classes/{scene.class_id}"
    await page.goto(target)
    await page.wait_for_url(re.compile(r"/console/sign-in\?next="))
    await paste_token(page, mint("teacher", scene.teacher))
    await page.wait_for_url(f"{console.base}{target}")
    await expect(page.get_by_test_id("roster")).to_be_visible()
    console.assert_clean()


@pytest.mark.parametrize(
    ("token", "status", "says"),
    [
        ("not-a-token", 401, "Not signed in"),
        ("student", 403, "has no console"),
    ],
)
async def test_a_bad_token_or_a_students_token_does_not_sign_in(
    console: Console, scene: Scene, token: str, status: int, says: str
) -> None:
    page = await (await console.context()).new_page()
    await page.goto("/console/sign-in")
    pasted = mint("student", scene.flagged) if token == "student" else token
    async with page.expect_navigation() as navigation:
        await paste_token(page, pasted)
    response = await navigation.value
    assert response is not None and response.status == status
    await expect(page.get_by_test_id("sign-in-error")).to_contain_text(says)
    assert SESSION_COOKIE not in {c["name"] for c in await page.context.cookies()}


# ------------------------------------------------------------------ the main path
async def test_a_teacher_finds_the_flagged_student_in_two_clicks_and_acts_live(
    console: Console, scene: Scene, ports: Ports
) -> None:
    """My classes -> the class (click 1) -> the flagged student (click 2): the history
    plotted, the alert's evidence and rule, acknowledge; a co-teacher's open page shows the
    change and announces a new alert without a reload. Saves the three screenshots."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = await console.sign_in(scene.teacher)

    # My classes: only the classes this teacher teaches
    rows = page.get_by_test_id("classes").get_by_test_id("class-row")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-class-id", scene.class_id)
    await page.screenshot(path=SHOTS / "my-classes.png", full_page=True)

    # click 1: the class, its roster in the API's risk order, the flagged student first
    await rows.first.locator(f'a[href$="/console/classes/{scene.class_id}"]').first.click()
    await page.wait_for_url(f"{console.base}/console/classes/{scene.class_id}")
    students = page.get_by_test_id("roster").get_by_test_id("student-row")
    await expect(students).to_have_count(4)
    teacher = bearer("teacher", scene.teacher)
    by_api = await api_get(ports, f"/classes/{scene.class_id}/students", teacher, sort="risk")
    assert by_api.status_code == 200, by_api.text
    api_order = [item["student_id"] for item in by_api.json()["items"]]
    shown = [await row.get_attribute("data-student-id") for row in await students.all()]
    assert shown == api_order and shown[0] == scene.flagged
    why = students.first.get_by_test_id("why-flagged")
    await expect(why).to_contain_text("high alert")
    assert by_api.json()["items"][0]["why_flagged"][0] in (await why.inner_text())
    await expect(page.get_by_test_id("heatmap")).to_be_visible()
    await page.screenshot(path=SHOTS / "class.png", full_page=True)

    # the co-teacher's browser has the student's page open before the acknowledgement
    watcher = await console.sign_in(scene.co_teacher)
    await watcher.goto(f"/console/students/{scene.flagged}")
    watched = alert_on(watcher, scene.high_alert)
    await expect(watched).to_have_attribute("data-status", "open")
    await watcher.wait_for_function(STREAM_OPEN, timeout=WAIT_MS)
    await watcher.evaluate("window.__notReloaded = true")

    # click 2: the flagged student
    link = students.first.locator(f'a[href$="/console/students/{scene.flagged}"]').first
    await link.click()
    await page.wait_for_url(f"{console.base}/console/students/{scene.flagged}")
    await expect(page.get_by_test_id("topics")).to_contain_text("python.loops")
    await expect(page.get_by_test_id("history-chart").locator("canvas").first).to_be_visible()
    # the same history as a table for screen readers: a row per day, 4 days of events
    days = page.get_by_test_id("history-table").locator("tbody tr")
    await expect(days.first).to_be_attached()
    assert await days.count() >= 4, await days.all_inner_texts()
    alert = alert_on(page, scene.high_alert)
    await expect(alert).to_have_attribute("data-status", "open")
    await expect(alert.get_by_test_id("evidence")).to_contain_text("loops-3")  # the quiz
    rule = alert.get_by_test_id("alert-rule")
    await expect(rule).to_contain_text("low_quiz")
    await expect(rule).to_contain_text("25")  # the high threshold it compared against
    await page.screenshot(path=SHOTS / "student.png", full_page=True)

    # acknowledge (a form post with its CSRF token, then back to the page)
    await alert.get_by_test_id("ack").click()
    await expect(alert_on(page, scene.high_alert)).to_have_attribute("data-status", "acknowledged")
    await expect(alert_on(page, scene.high_alert).get_by_test_id("alert-status")).to_contain_text(
        re.compile("acknowledged", re.IGNORECASE)
    )
    admin = bearer("admin")
    stored = await api_get(ports, f"/struggles/{scene.high_alert}", admin)
    assert (stored.json()["status"], stored.json()["acknowledged_by"]) == (
        "acknowledged",
        scene.teacher,
    )

    # live, in the other browser: the status changes without a reload
    await expect(watched).to_have_attribute("data-status", "acknowledged")
    await expect(watched.get_by_test_id("alert-status")).to_contain_text(
        re.compile("acknowledged", re.IGNORECASE)
    )
    assert await watcher.evaluate("window.__notReloaded") is True

    # a new alert raised now is announced in the live region
    dapr_headers = {"dapr-api-token": stack_secret("dapr_api_token")}
    async with httpx.AsyncClient(base_url=ports.dapr_url, timeout=30, headers=dapr_headers) as d:
        sid, event_type, topic, fields = quiz(scene.flagged, "python.recursion", "rec-1", 10)
        await Student(d, sid).send(event_type, topic, **fields)
    await expect(watcher.get_by_test_id("live")).to_contain_text("python.recursion")
    assert await watcher.evaluate("window.__notReloaded") is True
    console.assert_clean()


# ------------------------------------------------------------------ scope
async def test_a_teacher_of_another_class_gets_404_in_the_browser(
    console: Console, scene: Scene, ports: Ports
) -> None:
    """The same 404 the API gives that teacher; the class's own teacher gets the pages."""
    pages = (f"/console/classes/{scene.class_id}", f"/console/students/{scene.flagged}")
    stranger = await console.sign_in(scene.stranger)
    own = await console.sign_in(scene.teacher)
    for path in pages:
        response = await stranger.goto(path)
        assert response is not None and response.status == 404, path
        await expect(stranger.get_by_test_id("error-status")).to_have_text("404")
        mine = await own.goto(path)
        assert mine is not None and mine.status == 200, path
    who = bearer("teacher", scene.stranger)
    assert (await api_get(ports, f"/classes/{scene.class_id}/students", who)).status_code == 404
    assert (await api_get(ports, f"/progress/{scene.flagged}", who)).status_code == 404
    console.assert_clean()


# ------------------------------------------------------------------ CSRF
async def test_a_form_post_without_its_csrf_token_is_refused_and_changes_nothing(
    console: Console, scene: Scene, ports: Ports
) -> None:
    page = await console.sign_in(scene.teacher)
    await page.goto(f"/console/students/{scene.flagged}")
    alert = alert_on(page, scene.low_alert)
    await expect(alert).to_have_attribute("data-status", "open")
    form = alert.locator("form").filter(has=page.get_by_test_id("ack"))
    action = await form.get_attribute("action")
    assert action, "the acknowledge form has no action"
    hidden = form.locator('input[name="csrf_token"]')
    assert await hidden.get_attribute("value"), "the acknowledge form carries no csrf_token"

    # with the session cookie, without the token or with a wrong one
    url = action if action.startswith("http") else f"{console.base}{action}"
    without: list[dict[str, str | float | bool]] = [{}, {"csrf_token": "0" * 64}]
    for fields in without:
        refused = await page.request.post(url, form=fields, max_redirects=0)
        assert refused.status == 403, (fields, refused.status)
        assert "CSRF" in await refused.text()

    # the page's own form, its hidden token removed
    await form.evaluate("f => f.querySelector('input[name=\"csrf_token\"]').remove()")
    async with page.expect_navigation() as navigation:
        await alert.get_by_test_id("ack").click()
    response = await navigation.value
    assert response is not None and response.status == 403
    await expect(page.get_by_test_id("error-status")).to_have_text("403")

    # the sign-out form likewise: still signed in afterwards
    signed_out = await page.request.post(f"{console.base}/console/sign-out", form={})
    assert signed_out.status == 403
    still = await page.goto("/console/")
    assert still is not None and still.status == 200
    await expect(page.get_by_test_id("signed-in-as")).to_have_text(scene.teacher)

    stored = await api_get(ports, f"/struggles/{scene.low_alert}", bearer("admin"))
    assert stored.status_code == 200 and stored.json()["status"] == "open"
    console.assert_clean()


# ------------------------------------------------------------------ keyboard, zoom
async def test_the_flagged_student_is_reached_with_tab_and_opened_with_enter(
    console: Console, scene: Scene
) -> None:
    page = await console.sign_in(scene.teacher)
    await page.goto(f"/console/classes/{scene.class_id}")
    link = (
        page.get_by_test_id("roster")
        .get_by_test_id("student-row")
        .first.locator(f'a[href$="/console/students/{scene.flagged}"]')
        .first
    )
    await expect(link).to_be_visible()
    reached = False
    for _ in range(80):  # every focusable element before it, at most
        await page.keyboard.press("Tab")
        if await link.evaluate("a => a === document.activeElement"):
            reached = True
            break
    assert reached, "the flagged student's link is not reached with Tab"
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{console.base}/console/students/{scene.flagged}")
    await expect(page.get_by_test_id("history-chart")).to_be_visible()
    console.assert_clean()


ROSTER_FITS = """
() => {
  const table = document.querySelector('[data-testid="roster"]');
  const wrap = table && table.closest('.table-wrap');
  if (!wrap) return {wrapped: false};
  const viewport = document.documentElement.clientWidth;
  const box = wrap.getBoundingClientRect();
  const style = getComputedStyle(wrap).overflowX;
  wrap.scrollLeft = wrap.scrollWidth;
  const cells = table.querySelectorAll('thead th');
  const last = cells[cells.length - 1].getBoundingClientRect();
  const after = wrap.getBoundingClientRect();
  return {
    wrapped: true,
    wrapInViewport: box.left >= 0 && box.right <= viewport + 1,
    fits: table.scrollWidth <= wrap.clientWidth + 1,
    scrolls: style === 'auto' || style === 'scroll',
    lastColumnReachable: last.right <= after.right + 1 && last.left >= after.left - 1,
  };
}
"""


async def test_the_class_page_at_200_percent_zoom_keeps_the_roster_readable(
    console: Console, scene: Scene
) -> None:
    """1280 px at 200 %: a 640 px wide viewport at device scale 2. The roster fits or
    scrolls inside its .table-wrap, which stays on screen, and its last column can be
    scrolled into view."""
    page = await console.sign_in(
        scene.teacher, viewport={"width": 640, "height": 450}, device_scale_factor=2
    )
    await page.goto(f"/console/classes/{scene.class_id}")
    await expect(page.get_by_test_id("student-row")).to_have_count(4)
    layout = await page.evaluate(ROSTER_FITS)
    assert layout["wrapped"], "the roster is not inside a .table-wrap"
    assert layout["wrapInViewport"], layout
    assert layout["fits"] or layout["scrolls"], layout
    assert layout["lastColumnReachable"], layout
    console.assert_clean()
