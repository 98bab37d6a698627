"""Saturation only, for an A/B of a hot-path change: python -m bench.quick_saturation"""

import asyncio
import json
import sys
import time

import httpx

from bench.run import SATURATION_EVENTS, replica, replica_ports, saturation
from bench.workload import generate
from service.dev_token import mint


async def main() -> None:
    stack = replica(1)
    stack.up()
    try:
        ports = replica_ports(1)
        headers = {"Authorization": f"Bearer {mint('admin', 'bench')}"}
        async with httpx.AsyncClient(base_url=ports.app_url, headers=headers, timeout=30) as api:
            tag = f"quick-{int(time.time())}"
            await saturation(api, ports, generate(500, 100, seed=1, prefix=f"{tag}-w"))
            result = await saturation(
                api, ports, generate(SATURATION_EVENTS, 500, seed=2, prefix=f"{tag}-s")
            )
        sys.stdout.write(json.dumps(result) + "\n")
    finally:
        stack.down()


if __name__ == "__main__":
    asyncio.run(main())
