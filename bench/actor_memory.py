"""Memory per active student actor (issue 23): ``python -m bench.actor_memory [STEPS]``.

Starts the bench instance (runtime/up.sh's backing services, the app and its daprd),
then activates students in steps (default 2,500, 5,000, 10,000 in all): one event per
new student, published to Kafka and waited for until the app has applied it, so each
student's actor is active and holds its state (actors are deactivated after an hour
idle, the SDK's default: far longer than the run). After each step, once the app has
settled, the resident memory (VmRSS) of the app and of daprd. Memory per 10,000 active
actors is the growth from the first reading (the app started and warmed with a few
students) to the last, scaled; every reading is printed and written to
bench/results/actor-memory-<date>.json.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import zlib
from typing import Any

import httpx

from bench.harness import process_memory_mb
from bench.run import RESULTS, STACK_DIR, activations, handled_count, replica, replica_ports
from bench.workload import Event, generate
from tests.integration.kafka_io import Publisher
from tests.integration.stack import Ports, stop_on_sigterm

SETTLE_S = 5.0


def _pid(name: str) -> int:
    return int((STACK_DIR / "run" / f"{name}.pid").read_text().strip())


def _rss() -> dict[str, float]:
    return {
        "app_mb": round(process_memory_mb(_pid("bench-app")), 1),
        "daprd_mb": round(process_memory_mb(_pid("bench-daprd")), 1),
    }


def _events(students: list[str], tag: str) -> list[Event]:
    """One event of the workload's mix per student."""
    base = generate(len(students), 1, seed=zlib.crc32(tag.encode()), prefix=tag, zipf_s=0)
    return [
        Event(e.type, {**e.data, "student_id": sid}) for e, sid in zip(base, students, strict=True)
    ]


async def _apply(ports: Ports, api: httpx.AsyncClient, events: list[Event]) -> float:
    """Publish ``events`` and wait until the app has applied them; seconds taken."""
    before = await handled_count(api)
    start = time.monotonic()
    async with Publisher(f"127.0.0.1:{ports.kafka}") as pub:
        for e in events:
            await pub.send(e)
        await pub.flush()
    while await handled_count(api) - before < len(events):
        if time.monotonic() - start > 900:
            raise RuntimeError(f"{len(events)} events not applied within 900 s")
        await asyncio.sleep(0.5)
    return time.monotonic() - start


async def measure(steps: list[int]) -> dict[str, Any]:
    ports = replica_ports(1)
    tag = f"mem{int(time.time())}"
    readings = []
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=10) as api:
        warm = [f"{tag}-w{i:03d}" for i in range(100)]
        await _apply(ports, api, _events(warm, f"{tag}-w"))
        await asyncio.sleep(SETTLE_S)
        readings.append({"students": len(warm), "activations": await activations(ports), **_rss()})
        done = 0
        for total in steps:
            new = [f"{tag}-s{i:06d}" for i in range(done, total)]
            seconds = await _apply(ports, api, _events(new, f"{tag}-{total}"))
            done = total
            await asyncio.sleep(SETTLE_S)
            reading = {
                "students": len(warm) + total,
                "activations": await activations(ports),
                "seconds": round(seconds, 1),
                **_rss(),
            }
            readings.append(reading)
            sys.stdout.write(json.dumps(reading) + "\n")
            sys.stdout.flush()
    first, last = readings[0], readings[-1]
    added = last["students"] - first["students"]
    per_10k = {
        key: round((last[key] - first[key]) / added * 10_000, 1) for key in ("app_mb", "daprd_mb")
    }
    return {"readings": readings, "mb_per_10000_active_actors": per_10k}


def main() -> None:
    steps = [int(s) for s in sys.argv[1].split(",")] if len(sys.argv) > 1 else [2500, 5000, 10000]
    stop_on_sigterm()
    stack = replica(1)
    stack.up()
    try:
        result = asyncio.run(measure(steps))
    finally:
        stack.down()
    out = RESULTS / f"actor-memory-{time.strftime('%Y-%m-%d')}.json"
    document = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "steps": steps, **result}
    out.write_text(json.dumps(document, indent=2) + "\n")
    sys.stdout.write(json.dumps(result["mb_per_10000_active_actors"]) + f"\nwritten {out}\n")


if __name__ == "__main__":
    main()
