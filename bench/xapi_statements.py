"""xAPI statements through ``POST /xapi/statements`` (issue 26): python -m
bench.xapi_statements (make bench-xapi), or as part of ``make bench``.

For batches of 1, 50 and 500 statements, four clients send statements of 500 students
(answered questions, graded quizzes; one in ten is a statement no rule covers) with a
statement producer's credentials. Reported per batch size:
- ``accept``: statements per second the route took (the answers' pace), and app + daprd
  CPU milliseconds per statement while it did (the route: validation, mapping, the
  statement record, the publish — plus whatever of the intake ran meanwhile);
- ``end_to_end``: from the first request until every mapped event was handled by the
  students' actors, statements per second and CPU per statement, route and intake.
Beside them, in the same run, the Kafka intake alone: events written straight into
Kafka as fast as possible (batched turns, as large batches of statements make) and at
the pace statements sent one by one reached (one-event turns): the CPU per event a
mapped statement costs anyway, so what is left is the route's own.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from typing import Any

import httpx

from bench.mixed_profile import publish
from bench.run import (
    ResourceMeter,
    admin_api,
    handled_count,
    publish_and_wait,
    replica,
    replica_ports,
)
from bench.workload import generate
from tests.integration.stack import Ports, phase, stop_on_sigterm

BATCHES = {1: 1000, 50: 5000, 500: 10000}  # batch size -> statements sent
CLIENTS = 4
STUDENTS = 500
VERB = "http://adlnet.gov/expapi/verbs/"
TYPE = "http://adlnet.gov/expapi/activities/"
COURSE = "https://lms.school.example/course/python-loops"  # config/xapi-mapping.toml
HEADERS = {"X-Experience-API-Version": "1.0.3"}
PACED_SECONDS = 20


def statement(rnd: random.Random, tag: str) -> dict[str, Any]:
    student = f"{tag}-s{rnd.randrange(STUDENTS)}"
    kind = rnd.random()
    if kind < 0.1:  # no rule covers it: ignored
        verb, activity, result = "experienced", "lesson", None
    elif kind < 0.3:
        verb, activity = "completed", "assessment"
        result = {"score": {"scaled": round(rnd.random(), 2)}, "success": rnd.random() < 0.6}
    else:
        verb, activity, result = "answered", "cmi.interaction", {"success": rnd.random() < 0.6}
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": "https://lms", "name": student}},
        "verb": {"id": VERB + verb},
        "object": {
            "objectType": "Activity",
            "id": f"https://lms.school.example/q/{rnd.randrange(40)}",
            "definition": {"type": TYPE + activity},
        },
        "context": {"contextActivities": {"parent": [{"id": COURSE}]}},
        "timestamp": "2026-11-25T10:00:00+00:00",
    }
    if result is not None:
        body["result"] = result
    return body


async def _send_all(
    ports: Ports, auth: tuple[str, str], batches: list[list[dict[str, Any]]]
) -> None:
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=ports.app_url, auth=auth, timeout=60) as http:
            while not queue.empty():
                body = json.dumps(queue.get_nowait())
                r = await http.post(
                    "/xapi/statements",
                    content=body,
                    headers={**HEADERS, "content-type": "application/json"},
                )
                if r.status_code != 200:
                    raise RuntimeError(f"POST /xapi/statements: {r.status_code} {r.text[:300]}")

    await asyncio.gather(*(client() for _ in range(CLIENTS)))


async def _one_size(
    ports: Ports, api: httpx.AsyncClient, auth: tuple[str, str], size: int, total: int
) -> dict[str, Any]:
    rnd = random.Random(size)
    tag = f"bx{size}-{int(time.time())}"
    statements = [statement(rnd, tag) for _ in range(total)]
    mapped = sum(1 for s in statements if s["verb"]["id"] != VERB + "experienced")
    batches = [statements[i : i + size] for i in range(0, total, size)]
    before = await handled_count(api)
    meter = ResourceMeter()
    start = time.monotonic()
    await _send_all(ports, auth, batches)
    accepted_s = time.monotonic() - start
    accept = meter.report(total)
    while await handled_count(api) - before < mapped:
        if time.monotonic() - start > 600:
            raise RuntimeError(f"{mapped} mapped events not handled within 600 s")
        await asyncio.sleep(0.2)
    done_s = time.monotonic() - start
    end = meter.report(total)

    def cpu(report: dict[str, dict[str, float]]) -> float:
        return round(sum(report[k]["cpu_ms_per_event"] for k in ("app", "daprd")), 3)

    return {
        "batch": size,
        "statements": total,
        "mapped": mapped,
        "accept": {
            "statements_per_s": round(total / accepted_s, 1),
            "app_and_daprd_cpu_ms_per_statement": cpu(accept),
        },
        "end_to_end": {
            "statements_per_s": round(total / done_s, 1),
            "app_and_daprd_cpu_ms_per_statement": cpu(end),
        },
    }


async def _kafka_intake(
    ports: Ports, api: httpx.AsyncClient, rate: float | None = None
) -> dict[str, Any]:
    """Events written straight into Kafka: as fast as possible (batched turns), or at
    ``rate`` for PACED_SECONDS (one-event turns, as statements sent one by one make)."""
    count = 5000 if rate is None else int(rate * PACED_SECONDS)
    events = generate(count, STUDENTS, seed=7, prefix=f"bxk-{int(time.time())}")
    meter = ResourceMeter()
    if rate is None:
        result = await publish_and_wait(ports, events, lambda: handled_count(api))
        events_per_s = result["events_per_s"]
    else:
        before = await handled_count(api)
        start = time.monotonic()
        await publish(ports, events, rate)
        while await handled_count(api) - before < count:
            await asyncio.sleep(0.2)
        events_per_s = round(count / (time.monotonic() - start), 1)
    report = meter.report(count)
    return {
        "events": count,
        "offered_events_per_s": rate,
        "events_per_s": events_per_s,
        "app_and_daprd_cpu_ms_per_event": round(
            sum(report[k]["cpu_ms_per_event"] for k in ("app", "daprd")), 3
        ),
    }


async def xapi_statements(ports: Ports) -> dict[str, Any]:
    """Time the statements route against the running benchmark instance."""
    async with admin_api(ports) as api:
        producer_id = f"bench-{uuid.uuid4().hex[:8]}"
        r = await api.post(
            "/statement-producers", json={"producer_id": producer_id, "name": "bench"}
        )
        r.raise_for_status()
        auth = (producer_id, r.json()["secret"])
        with phase("xapi: warm-up"):
            await _one_size(ports, api, auth, 50, 500)
        results: dict[str, Any] = {"clients": CLIENTS, "batches": []}
        with phase("xapi: the Kafka intake alone (5000 events)"):
            results["kafka_intake"] = await _kafka_intake(ports, api)
        for size, total in BATCHES.items():
            with phase(f"xapi: {total} statements in batches of {size}"):
                results["batches"].append(await _one_size(ports, api, auth, size, total))
        one_by_one = results["batches"][0]["end_to_end"]["statements_per_s"]
        with phase(f"xapi: the Kafka intake alone at {one_by_one} events/s"):
            results["kafka_intake_paced"] = await _kafka_intake(ports, api, one_by_one)
        return results


async def main() -> None:
    stack = replica(1)
    stack.up()
    try:
        sys.stdout.write(json.dumps(await xapi_statements(replica_ports(1))) + "\n")
    finally:
        stack.down()


if __name__ == "__main__":
    stop_on_sigterm()
    asyncio.run(main())
