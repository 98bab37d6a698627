"""The console's page load times over the demo school (issue 22): python -m
bench.console_pages, or as part of ``make bench``.

Seeds bench/demo_school.py through the real event path, then requests each console page
as the class's teacher would (bearer token, as scripts do; the server's work is the same
as for a signed-in browser): ``/console/`` (My classes), ``/console/classes/{id}`` (the
class page: roster, heatmap, misconceptions) and ``/console/students/{id}`` (a student:
topics, history, alerts). One client, then four at once; each client's first WARMUP
requests untimed. Reported: p50/p95/p99 in milliseconds of the full response (the HTML;
the static files are cached by the browser), and the floor: ``/problems/not-found``, a
page of the same app with no token to check and no I/O (what any request costs here,
client included)."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

from bench.class_views import timed_gets
from bench.demo_school import DemoClass, seed
from bench.run import replica, replica_ports
from tests.integration.stack import Ports, phase, stop_on_sigterm

REQUESTS = 200
WARMUP = 10
CLIENT_COUNTS = (1, 4)
PAGES = ("my_classes", "class", "student", "floor")


def _request(rnd: random.Random, page: str, classes: list[DemoClass]) -> tuple[str, str]:
    """(path, teacher) of one request to ``page`` for a random class of the school."""
    c = rnd.choice(classes)
    if page == "my_classes":
        return "/console/", c.teacher_id
    if page == "class":
        return f"/console/classes/{c.class_id}", c.teacher_id
    if page == "student":
        return f"/console/students/{rnd.choice(c.student_ids)}", c.teacher_id
    return "/problems/not-found", c.teacher_id  # no token check, no I/O


async def _measure(
    ports: Ports, page: str, clients: int, classes: list[DemoClass]
) -> dict[str, float]:
    rnd = random.Random(page)
    requests = [_request(rnd, page, classes) for _ in range(REQUESTS + WARMUP * clients)]
    return await timed_gets(ports, requests, clients, WARMUP)


async def console_pages(ports: Ports) -> dict[str, Any]:
    """Seed the demo school into the running benchmark instance and time the pages."""
    with phase("console pages: seeding the demo school through Kafka"):
        classes = await seed(ports, prefix=f"bench-console-{int(time.time())}")
    results: dict[str, Any] = {
        "requests_per_page": REQUESTS,
        "classes": len(classes),
        "students": sum(len(c.student_ids) for c in classes),
    }
    for clients in CLIENT_COUNTS:
        for page in PAGES:
            with phase(f"console pages: {REQUESTS} requests of {page}, {clients} at once"):
                results[f"{page}_{clients}_clients"] = await _measure(ports, page, clients, classes)
    return results


async def main() -> None:
    stack = replica(1)
    stack.up()
    try:
        sys.stdout.write(json.dumps(await console_pages(replica_ports(1))) + "\n")
    finally:
        stack.down()


if __name__ == "__main__":
    stop_on_sigterm()
    asyncio.run(main())
