"""A demo school for the console: classes of students whose events went through the
real path (Kafka -> daprd -> actors), so every page has mastery, history, flagged
students and alerts with evidence.

``make demo`` seeds the local ``make run`` stack (teachers ``demo-t-1`` ..; sign in with
``make token SUB=demo-t-1``); ``bench/console_pages.py`` seeds the benchmark's instance.
Deterministic for a prefix: the same classes, students and events each time (events
already seen are deduplicated by the actors)."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx

from bench.workload import Event, generate
from service.dev_token import mint
from tests.integration.stack import Ports

CLASSES = 5
CLASS_SIZE = 30
EVENTS_PER_STUDENT = 40
SPREAD = timedelta(days=14)  # events spread over the last two weeks: a history to plot


@dataclass(frozen=True)
class DemoClass:
    class_id: str
    title: str
    teacher_id: str
    student_ids: tuple[str, ...]


def school(prefix: str = "demo") -> tuple[list[DemoClass], list[Event]]:
    """The classes and every event of their students, oldest first."""
    students = CLASSES * CLASS_SIZE
    raw = generate(students * EVENTS_PER_STUDENT, students, seed=22, prefix=prefix, zipf_s=0.6)
    ids = sorted({e.student_id for e in raw})
    rnd = random.Random(prefix)
    rnd.shuffle(ids)
    classes = [
        DemoClass(
            class_id=f"{prefix}-c-{n + 1}",
            title=f"Python {n + 1}",
            teacher_id=f"{prefix}-t-{n + 1}",
            student_ids=tuple(sorted(ids[n * CLASS_SIZE : (n + 1) * CLASS_SIZE])),
        )
        for n in range(min(CLASSES, (len(ids) + CLASS_SIZE - 1) // CLASS_SIZE))
    ]
    start = datetime.now(UTC) - SPREAD
    step = SPREAD / max(1, len(raw))
    events = [
        replace(e, data={**e.data, "occurred_at": (start + step * n).isoformat()})
        for n, e in enumerate(raw)
    ]
    return classes, events


async def put_classes(api: httpx.AsyncClient, classes: list[DemoClass]) -> None:
    for c in classes:
        r = await api.put(
            f"/classes/{c.class_id}",
            json={
                "title": c.title,
                "teacher_ids": [c.teacher_id],
                "student_ids": list(c.student_ids),
            },
        )
        r.raise_for_status()


async def seed(ports: Ports, prefix: str = "demo") -> list[DemoClass]:
    """Put the classes, publish the events and wait until the app has handled them."""
    from bench.run import handled_count, publish_and_wait  # bench.run imports much

    classes, events = school(prefix)
    headers = {"Authorization": f"Bearer {mint('admin', 'demo-seed')}"}
    async with httpx.AsyncClient(base_url=ports.app_url, headers=headers, timeout=30) as api:
        await put_classes(api, classes)
        await publish_and_wait(ports, events, lambda: handled_count(api))
    return classes


def _local_ports() -> Ports:
    """The ``make run`` stack's ports and ids (runtime/lib.sh's defaults)."""
    return Ports(
        app=int(os.environ.get("APP_PORT", "8000")),
        dapr_http=int(os.environ.get("DAPR_HTTP_PORT", "3500")),
        database="progress",
        app_id="progress-service",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prefix", default="demo")
    args = parser.parse_args()
    classes = asyncio.run(seed(_local_ports(), args.prefix))
    lines = [
        f"{c.class_id} ({c.title}): teacher {c.teacher_id}, {len(c.student_ids)} students"
        for c in classes
    ]
    lines.append(f"sign in: make token SUB={classes[0].teacher_id}, then open /console/")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
