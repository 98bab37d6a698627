"""Where a teacher's read waits while events flow (issue 27): python -m
bench.mixed_profile [READS_PER_S] [EVENTS_PER_S] [--split] (defaults 50 and 100).

One process of role ``all`` (the benchmark instance); with --split the two roles, and
py-spy samples the front end (EVENTS_PER_S 0: what a read alone costs it). A school of
400 students in 4 classes is seeded through Kafka; then for 20 s teachers' reads (a
student's progress and history, a class's students and topics, a class's alerts) go at
READS_PER_S, first alone, then with events at EVENTS_PER_S, while py-spy samples the
app. Reported: the reads' p50/p95/p99 in both phases, and the share of the app's samples
in the event path (the intake, actor turns, the SDK's actor runtime), in the reads
(routes, views, console) and elsewhere, and by package: if a read waits behind actor
turns in one event loop, the event path's share is large and the reads' latency grows
with it.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.profile import library, record
from bench.run import RESULTS, STACK_DIR, fresh_instance_ports, pct
from bench.workload import Event, generate
from service.dev_token import mint
from tests.integration.kafka_io import Publisher
from tests.integration.stack import REPO, Ports, Stack, phase, stop_on_sigterm
from tests.integration.support import put_class

CLASSES = 4
PER_CLASS = 100
SECONDS = 20
EVENT_PATH = (
    "service/actorhost/intake.py",
    "/actors/",
    "dapr/actor/",
    "service/actorhost/outbound.py",
    "service/dapr/callbacks.py",
)
READ_PATH = (
    "service/frontend/routes/",
    "service/readmodel/views.py",
    "service/frontend/console/",
    "service/alerts/repository.py",
)


def reads(rnd: random.Random, classes: dict[str, list[str]]) -> tuple[str, str]:
    """(path, teacher) of one teacher read."""
    class_id = rnd.choice(sorted(classes))
    teacher = f"t-{class_id}"
    student = rnd.choice(classes[class_id])
    return rnd.choice(
        [
            (f"/progress/{student}", teacher),
            (f"/progress/{student}/history", teacher),
            (f"/classes/{class_id}/students?sort=risk", teacher),
            (f"/classes/{class_id}/topics", teacher),
            (f"/struggles?class_id={class_id}", teacher),
        ]
    )


async def paced_reads(ports: Ports, classes: dict[str, list[str]], rate: float) -> list[float]:
    """Reads at ``rate`` for SECONDS, each on its own (open model: a slow answer does not
    delay the next request); milliseconds of each."""
    rnd = random.Random(7)
    latencies: list[float] = []
    tokens = {f"t-{c}": mint("teacher", f"t-{c}") for c in classes}
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=30) as http:

        async def one(path: str, teacher: str) -> None:
            start = time.perf_counter()
            r = await http.get(path, headers={"Authorization": f"Bearer {tokens[teacher]}"})
            r.raise_for_status()
            latencies.append((time.perf_counter() - start) * 1000)

        tasks = []
        start = time.monotonic()
        for i in range(int(rate * SECONDS)):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(*reads(rnd, classes))))
        await asyncio.gather(*tasks)
    return latencies


def shares(raw: Path) -> dict[str, float]:
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if any(p in stack_text for p in EVENT_PATH):
            counts["event_path"] += int(count_text)
        elif any(p in stack_text for p in READ_PATH):
            counts["reads"] += int(count_text)
        else:
            counts["other"] += int(count_text)
    total = sum(counts.values()) or 1
    return {k: round(v / total * 100, 1) for k, v in sorted(counts.items())}


def school(tag: str, count: int, seed: int) -> list[Event]:
    """``count`` events of the school's 400 students (ids ``<tag>-s00000`` ...), their
    event ids unique to ``seed``."""
    # uniform: every student has events, so every read finds its student
    events = generate(count, CLASSES * PER_CLASS, seed=seed, prefix=tag, zipf_s=0)
    return [Event(e.type, {**e.data, "event_id": f"{e.data['event_id']}-{seed}"}) for e in events]


async def publish(ports: Ports, events: list[Event], rate: float | None = None) -> None:
    async with Publisher(f"127.0.0.1:{ports.kafka}") as pub:
        start = time.monotonic()
        for i, e in enumerate(events):
            if rate is not None:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await pub.send(e)
        await pub.flush()


async def seed(ports: Ports, tag: str) -> dict[str, list[str]]:
    """The classes (4 of 100), and 4,000 events so there is history, alerts and
    snapshots to read."""
    students = [f"{tag}-s{i:05d}" for i in range(CLASSES * PER_CLASS)]
    classes = {f"{tag}-c{c}": students[c * PER_CLASS : (c + 1) * PER_CLASS] for c in range(CLASSES)}
    admin = {"Authorization": f"Bearer {mint('admin', 'bench')}"}
    async with httpx.AsyncClient(base_url=ports.app_url, headers=admin, timeout=30) as api:
        for class_id, members in classes.items():
            await put_class(api, class_id, [f"t-{class_id}"], members)
    await publish(ports, school(tag, 4000, 1))
    return classes


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        **{f"p{p}": round(pct(latencies, p), 1) for p in (50, 95, 99)},
    }


def by_library(raw: Path) -> dict[str, float]:
    """Share of the samples by the package of the innermost frame."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        counts[library(stack_text.split(";")[-1])] += int(count_text)
    total = sum(counts.values()) or 1
    return {k: round(v / total * 100, 1) for k, v in counts.most_common()}


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    reads_per_s = float(args[0]) if args else 50.0
    events_per_s = float(args[1]) if len(args) > 1 else 100.0
    split = "--split" in sys.argv  # the two roles; py-spy samples the front end
    stop_on_sigterm()
    ports = fresh_instance_ports()
    stack = Stack(ports, name="bench", fast_timers=False, split=split)
    stack.up()
    raw = REPO / ".stack" / "mixed-profile.raw"
    results: dict[str, Any] = {"reads_per_s": reads_per_s, "events_per_s": events_per_s}
    try:
        pid = (STACK_DIR / "run" / "bench-app.pid").read_text().strip()
        tag = f"mix-{int(time.time())}"
        with phase("seeding 400 students in 4 classes"):
            classes = asyncio.run(seed(ports, tag))
            time.sleep(15)  # the backlog applied before the reads start
        with phase(f"reads alone at {reads_per_s}/s"):
            results["reads_alone"] = summary(asyncio.run(paced_reads(ports, classes, reads_per_s)))

        async def both() -> list[float]:
            flow = school(tag, int(events_per_s * SECONDS), 2)
            events = asyncio.create_task(publish(ports, flow, events_per_s))
            latencies = await paced_reads(ports, classes, reads_per_s)
            await events
            return latencies

        with phase(f"reads at {reads_per_s}/s with events at {events_per_s}/s"):
            spy = record(pid, raw)
            results["reads_with_events"] = summary(asyncio.run(both()))
            spy.wait()
        results["app_samples_percent"] = shares(raw)
        results["app_samples_by_library_percent"] = by_library(raw)
        results["split"] = split
    finally:
        stack.down()
    out = RESULTS / f"mixed-profile-{time.strftime('%Y-%m-%d-%H%M')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    sys.stdout.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
