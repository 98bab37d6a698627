"""Saturation, and optionally one paced step, for an A/B of a hot-path change:
python -m bench.quick_saturation [--rate R]

With ``--rate`` a part-load step follows (events paced at R/s for BENCH_STEP_SECONDS):
publish -> progress.updated latency and the app's and daprd's CPU per event at that rate,
the regime where turns carry about one event each. The saturation run's students are
enrolled in classes of 40 first."""

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import httpx

from bench.run import (
    SATURATION_EVENTS,
    ResourceMeter,
    admin_api,
    fixed_rate,
    replica,
    replica_ports,
    saturation,
)
from bench.workload import generate
from tests.integration.stack import stop_on_sigterm

CLASS_SIZE = 40


async def enroll(api: httpx.AsyncClient, students: list[str]) -> None:
    """The students in classes of CLASS_SIZE (each with a teacher), as at a school: the
    class actors' share of the event path is then measured too."""
    for n, start in enumerate(range(0, len(students), CLASS_SIZE)):
        members = students[start : start + CLASS_SIZE]
        body = {"title": f"bench {n}", "teacher_ids": [f"bt-{n}"], "student_ids": members}
        r = await api.put(f"/classes/bench-{n}", json=body)
        r.raise_for_status()


async def main(rate: float | None) -> None:
    stack = replica(1)
    stack.up()
    try:
        ports = replica_ports(1)
        async with admin_api(ports) as api:
            tag = f"quick-{int(time.time())}"
            await saturation(api, ports, generate(500, 100, seed=1, prefix=f"{tag}-w"))
            events = generate(SATURATION_EVENTS, 500, seed=2, prefix=f"{tag}-s")
            await enroll(api, sorted({e.student_id for e in events}))
            result: dict[str, Any] = await saturation(api, ports, events)
            if rate is not None:
                meter = ResourceMeter()
                events = generate(int(rate * 60), 500, seed=4, prefix=f"{tag}-p")
                step = await fixed_rate(api, ports, rate, events, with_api_load=False)
                used = meter.report(step["events"])
                step["cpu_ms_per_event"] = {
                    k: used[k]["cpu_ms_per_event"] for k in ("app", "daprd") if k in used
                }
                result["paced"] = step
        sys.stdout.write(json.dumps(result) + "\n")
    finally:
        stack.down()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=None)
    rate = parser.parse_args().rate
    stop_on_sigterm()
    asyncio.run(main(rate))
