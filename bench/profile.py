"""Profile the app process on the event hot path with py-spy while a saturating stream
is processed: python -m bench.profile. Writes bench/results/profile-<date>.txt with the
frames that hold the most samples (inclusive) and the leaves (self)."""

import asyncio
import collections
import subprocess
import sys
import time

import httpx

from bench.harness import Publisher
from bench.run import RESULTS, STACK_DIR, replica, replica_ports
from bench.workload import generate
from tests.integration.stack import REPO


async def load(events: int) -> None:
    ports = replica_ports(1)
    async with Publisher(f"127.0.0.1:{ports.kafka}") as pub:
        for e in generate(events, 500, seed=3, prefix=f"prof-{int(time.time())}"):
            await pub.send(e)
        await pub.flush()


def main() -> None:
    stack = replica(1)
    stack.up()
    try:
        httpx.get(replica_ports(1).app_url + "/health", timeout=10)
        asyncio.run(load(20000))
        pid = (STACK_DIR / "run" / "bench-app.pid").read_text().strip()
        raw = REPO / ".stack" / "profile.raw"
        subprocess.run(
            [
                str(REPO / ".venv" / "bin" / "py-spy"),
                "record",
                "-p",
                pid,
                "-d",
                "20",
                "-r",
                "200",
                "--format",
                "raw",
                "-o",
                str(raw),
                "--nonblocking",
            ],
            check=True,
            capture_output=True,
        )
    finally:
        stack.down()
    inclusive: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [
            f.split(" (")[0] + " " + f.split("/")[-1].rstrip(")") for f in stack_text.split(";")
        ]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        leaves[frames[-1]] += count
    lines = [
        f"py-spy, 20 s at 200 Hz on the app during a 20,000-event burst: {total} samples",
        "",
        "inclusive (frame on the stack):",
    ]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(40)]
    lines += ["", "self (leaf frame):"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in leaves.most_common(25)]
    out = RESULTS / f"profile-{time.strftime('%Y-%m-%d')}.txt"
    out.write_text("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(lines[:60]) + "\n")


if __name__ == "__main__":
    main()
