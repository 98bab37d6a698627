"""Saturation, and optionally one paced step, for an A/B of a hot-path change:
python -m bench.quick_saturation [--rate R]

With ``--rate`` a part-load step follows (events paced at R/s for BENCH_STEP_SECONDS):
publish -> progress.updated latency and the app's and daprd's CPU per event at that rate,
the regime where turns carry about one event each."""

import argparse
import asyncio
import json
import sys
import time
from typing import Any

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


async def main(rate: float | None) -> None:
    stack = replica(1)
    stack.up()
    try:
        ports = replica_ports(1)
        async with admin_api(ports) as api:
            tag = f"quick-{int(time.time())}"
            await saturation(api, ports, generate(500, 100, seed=1, prefix=f"{tag}-w"))
            result: dict[str, Any] = await saturation(
                api, ports, generate(SATURATION_EVENTS, 500, seed=2, prefix=f"{tag}-s")
            )
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
