"""Profile the app process on the event hot path with py-spy: python -m bench.profile
[RATE]. Without RATE a saturating burst is published first (big batches, several events
per turn); with RATE events are paced at RATE/s while sampling (small batches, about one
event per turn: the part-load regime). Writes bench/results/profile-<date>[-RATE].txt with
the frames that hold the most samples (inclusive) and the leaves (self), then daprd's own
CPU profile over the same 20 s (its pprof endpoint, summarised by `go tool pprof -top`)."""

import asyncio
import collections
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from bench.run import RESULTS, STACK_DIR, replica, replica_ports
from bench.workload import generate
from tests.integration.kafka_io import Publisher
from tests.integration.stack import REPO, stop_on_sigterm


async def load(events: int, rate: float | None = None) -> None:
    ports = replica_ports(1)
    async with Publisher(f"127.0.0.1:{ports.kafka}") as pub:
        start = time.monotonic()
        for i, e in enumerate(generate(events, 500, seed=3, prefix=f"prof-{int(time.time())}")):
            if rate is not None:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await pub.send(e)
        await pub.flush()


DAPRD_PROFILE_PORT = 7777


def daprd_profile(out: Path) -> threading.Thread:
    """Fetch 20 s of daprd's CPU profile into ``out`` (in a thread, beside py-spy)."""

    def fetch() -> None:
        url = f"http://127.0.0.1:{DAPRD_PROFILE_PORT}/debug/pprof/profile?seconds=20"
        out.write_bytes(httpx.get(url, timeout=60).content)

    thread = threading.Thread(target=fetch)
    thread.start()
    return thread


def daprd_top(profile: Path) -> list[str]:
    go = shutil.which("go")
    if go is None or not profile.exists():
        return ["(no daprd profile: go not on PATH or nothing fetched)"]
    out = subprocess.run(
        [go, "tool", "pprof", "-top", "-nodecount=45", str(profile)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


def record(pid: str, raw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
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
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


LIBRARIES = (
    "starlette", "fastapi", "uvicorn", "httptools", "aiohttp", "dapr", "pydantic",
    "structlog", "asyncpg", "sqlalchemy", "json", "asyncio", "actors", "service",
    "prometheus_client", "opentelemetry", "aiokafka",
)  # fmt: skip


def library(frame: str) -> str:
    """The package a frame's file belongs to ("other" when none of LIBRARIES)."""
    path = frame.rpartition("(")[2]
    parts = path.replace("\\", "/").split("/")
    for part in reversed(parts[:-1]):
        if part in LIBRARIES:
            return part
    return "other"


def main() -> None:
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else None
    stop_on_sigterm()
    os.environ["DAPRD_EXTRA_ARGS"] = f"--enable-profiling --profile-port {DAPRD_PROFILE_PORT}"
    stack = replica(1)
    stack.up()
    raw = REPO / ".stack" / "profile.raw"
    pprof = REPO / ".stack" / "daprd.pprof"
    try:
        httpx.get(replica_ports(1).app_url + "/health", timeout=10)
        pid = (STACK_DIR / "run" / "bench-app.pid").read_text().strip()
        if rate is None:
            asyncio.run(load(20000))
            daprd = daprd_profile(pprof)
            record(pid, raw).wait()
        else:
            spy = record(pid, raw)
            daprd = daprd_profile(pprof)
            asyncio.run(load(int(rate * 25), rate))
            spy.wait()
        daprd.join()
    finally:
        stack.down()
    inclusive: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    by_library: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        count = int(count_text)
        full = stack_text.split(";")
        frames = [f.split(" (")[0] + " " + f.split("/")[-1].rstrip(")") for f in full]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        leaves[frames[-1]] += count
        by_library[library(full[-1])] += count
    mode = "a 20,000-event burst" if rate is None else f"events paced at {rate:g}/s"
    lines = [f"py-spy, 20 s at 200 Hz on the app during {mode}: {total} samples", ""]
    lines += ["self time by package of the leaf frame:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in by_library.most_common()]
    lines += ["", "inclusive (frame on the stack):"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(60)]
    lines += ["", "self (leaf frame):"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in leaves.most_common(40)]
    lines += ["", "daprd, same 20 s (go tool pprof -top):", *daprd_top(pprof)]
    suffix = "" if rate is None else f"-{rate:g}"
    out = RESULTS / f"profile-{time.strftime('%Y-%m-%d')}{suffix}.txt"
    out.write_text("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
