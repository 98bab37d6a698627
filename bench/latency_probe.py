"""Latency of the event path where the machine has room: python -m bench.latency_probe
[RATE ...] (default 5 50 150). Students are warmed up first (activated, wake-up armed), so
each step measures publish -> progress.updated for students the service already hosts,
with the app's and daprd's CPU per event: the path's own latency, without queueing
behind new students' first turns."""

import asyncio
import json
import sys
import time

from bench.run import ResourceMeter, admin_api, fixed_rate, replica, replica_ports, saturation
from bench.workload import generate
from tests.integration.stack import stop_on_sigterm


async def main(rates: list[float]) -> None:
    stack = replica(1)
    stack.up()
    try:
        ports = replica_ports(1)
        async with admin_api(ports) as api:
            tag = f"probe-{int(time.time())}"
            total = 2000 + sum(int(r * 60) for r in rates)
            events = generate(total, 200, seed=7, prefix=tag)
            await saturation(api, ports, events[:2000])  # every student seen
            await asyncio.sleep(3)
            rest = events[2000:]
            for rate in rates:
                meter = ResourceMeter()
                step = await fixed_rate(api, ports, rate, rest, with_api_load=False)
                used = meter.report(step["events"])
                step["cpu_ms_per_event"] = {k: used[k]["cpu_ms_per_event"] for k in used}
                rest = rest[step["events"] :]
                sys.stdout.write(json.dumps(step) + "\n")
                sys.stdout.flush()
    finally:
        stack.down()


if __name__ == "__main__":
    stop_on_sigterm()
    asyncio.run(main([float(r) for r in sys.argv[1:]] or [5.0, 50.0, 150.0]))
