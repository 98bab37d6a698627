"""Teachers' reads while events flow, one process against the two roles (issue 27):
python -m bench.mixed [--rounds N] [--reads R] (make bench-mixed; also in make bench).

For each variant — ``combined`` (one process, role all), ``split`` (a front end and an
actor host, each with its own daprd) and ``split-pinned`` (the same, each role and its
daprd pinned to a core of its own with taskset: what separate machines buy, as near as
two cores allow; Kafka and PostgreSQL float) — alternating, on a fresh stack each time:
seed a school of 400 students in 4 classes through Kafka; measure the saturation (4,000
events as fast as possible); then teachers' reads at R/s (default 50) from vegeta, an
external load generator (runtime/vegeta.sh), alone, and while events are published at
40 % and 80 % of the saturation; and the events alone at 80 %; each step once every
process is quiet again. Reported per step: the reads' p50/p95/p99 (vegeta's), overall
and per kind of read (answered by the student's actor, or by PostgreSQL), the events'
p95 publish -> progress.updated, and CPU per process (app, daprd, and the actor host's
app and daprd when split). Writes bench/results/mixed-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.mixed_profile import reads, school, seed
from bench.run import (
    RESULTS,
    STACK_DIR,
    ResourceMeter,
    fixed_rate,
    fresh_instance_ports,
    handled_count,
    pct,
    publish_and_wait,
)
from service.dev_token import mint
from tests.integration.stack import REPO, Ports, Stack, actor_host_ports, phase, stop_on_sigterm

READ_SECONDS = 20
SATURATION_EVENTS = 4000


def vegeta() -> str:
    return subprocess.run(
        [str(REPO / "runtime" / "vegeta.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()


def targets(ports: Ports, classes: dict[str, list[str]], count: int) -> str:
    """vegeta's http target format: one teacher read per target, with its token."""
    rnd = random.Random(11)
    tokens = {f"t-{c}": mint("teacher", f"t-{c}") for c in classes}
    lines = []
    for _ in range(count):
        path, teacher = reads(rnd, classes)
        lines.append(f"GET {ports.app_url}{path}\nAuthorization: Bearer {tokens[teacher]}\n")
    return "\n".join(lines)


ROUTES = (  # how each read is answered: by the student's actor, or by PostgreSQL
    ("/history", "history (read model)"),
    ("/students", "class students (read model)"),
    ("/topics", "class topics (read model)"),
    ("/struggles", "class alerts (alert table)"),
    ("/progress/", "progress (the student's actor)"),
)


def route_of(url: str) -> str:
    return next(name for part, name in ROUTES if part in url)


def by_route(csv_text: str) -> dict[str, dict[str, float]]:
    """p50/p95 (ms) and count of each kind of read, from vegeta's CSV encoding
    (timestamp, code, latency ns, bytes out, bytes in, error, body, attack, seq,
    method, url, headers)."""
    latencies: dict[str, list[float]] = {}
    for row in csv.reader(io.StringIO(csv_text)):
        latencies.setdefault(route_of(row[10]), []).append(int(row[2]) / 1e6)
    return {
        name: {
            "count": len(ms),
            "p50_ms": round(pct(ms, 50), 1),
            "p95_ms": round(pct(ms, 95), 1),
        }
        for name, ms in sorted(latencies.items())
    }


async def _output(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args)} exited with {proc.returncode}")
    return out.decode()


async def attack(ports: Ports, classes: dict[str, list[str]], rate: float) -> dict[str, Any]:
    """Reads at ``rate`` for READ_SECONDS from vegeta; its latencies in ms, overall and
    per kind of read."""
    with tempfile.TemporaryDirectory() as tmp:
        target_file, results = Path(tmp) / "targets.txt", Path(tmp) / "results.bin"
        target_file.write_text(targets(ports, classes, int(rate * READ_SECONDS) + 10))
        proc = await asyncio.create_subprocess_exec(
            vegeta(),
            "attack",
            "-format=http",
            f"-targets={target_file}",
            f"-rate={round(rate)}/1s",
            f"-duration={READ_SECONDS}s",
            "-timeout=30s",
            f"-output={results}",
        )
        await proc.wait()
        # off the event loop: the events' task of the same step runs in it
        report = json.loads(await _output(vegeta(), "report", "-type=json", str(results)))
        encoded = await _output(vegeta(), "encode", "--to", "csv", str(results))
    lat = report["latencies"]
    return {
        "requests": report["requests"],
        "success": report["success"],
        "p50_ms": round(lat["50th"] / 1e6, 1),
        "p95_ms": round(lat["95th"] / 1e6, 1),
        "p99_ms": round(lat["99th"] / 1e6, 1),
        "status_codes": report["status_codes"],
        "by_route": by_route(encoded),
    }


def cpu(meter: ResourceMeter) -> dict[str, float]:
    """CPU share of each process (percent of one core) since ``meter`` started."""
    return {k: v["cpu_percent"] for k, v in meter.report(1).items()}


async def quiet(limit_percent: float = 15.0, timeout: float = 90.0) -> float:
    """Wait until every measured process (app, daprd, Kafka, PostgreSQL...) uses less
    than ``limit_percent`` of a core over 2 s, so a step does not measure the work the
    one before left behind (effects, progress.updated, activations); seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        meter = ResourceMeter()
        await asyncio.sleep(2)
        if max(cpu(meter).values()) < limit_percent:
            break
    return round(time.monotonic() - start, 1)


def pin(names_to_cpus: dict[str, str]) -> None:
    """``taskset`` each recorded process (and its children) to its CPU list: what
    separate machines would give each role, as near as two cores allow."""
    for name, cpus in names_to_cpus.items():
        pid = (STACK_DIR / "run" / f"{name}.pid").read_text().strip()
        children = subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True)
        for p in [pid, *children.stdout.split()]:
            subprocess.run(["taskset", "-a", "-pc", cpus, p], check=True, capture_output=True)


# the front end and its daprd on one core, the actor host and its daprd on the other
PINNED = {"bench-app": "0", "bench-daprd": "0", "bench-actors-app": "1", "bench-actors-daprd": "1"}
VARIANTS = ("combined", "split", "split-pinned")


async def variant(name: str, reads_per_s: float, saturation_only: bool = False) -> dict[str, Any]:
    # an app id of its own: an earlier variant's stuck reminders fired into the next
    ports = fresh_instance_ports()
    split = name != "combined"
    stack = Stack(ports, name="bench", fast_timers=False, split=split)
    stack.up()
    if name == "split-pinned":
        pin(PINNED)
    try:
        host_url = (actor_host_ports(ports) if split else ports).app_url
        admin = {"Authorization": f"Bearer {mint('admin', 'bench')}"}
        async with (
            httpx.AsyncClient(base_url=ports.app_url, headers=admin, timeout=30) as api,
            httpx.AsyncClient(base_url=host_url, timeout=30) as host,
        ):
            tag = f"mixed-{'s' if split else 'c'}-{int(time.time())}"
            with phase("seeding 400 students in 4 classes"):
                classes = await seed(ports, tag)
            with phase(f"saturation ({SATURATION_EVENTS} events)"):
                sat = await publish_and_wait(
                    ports, school(tag, SATURATION_EVENTS, 3), lambda: handled_count(host)
                )
            rate = sat["events_per_s"]
            out: dict[str, Any] = {"saturation_events_per_s": rate, "steps": []}
            if saturation_only:
                return out
            seed_no = 10

            async def step(name: str, read_rate: float, share: float) -> None:
                nonlocal seed_no
                seed_no += 1
                settled = await quiet()
                meter = ResourceMeter()
                tasks: dict[str, Any] = {}
                if read_rate:
                    tasks["reads"] = asyncio.create_task(attack(ports, classes, read_rate))
                if share:
                    events = school(tag, int(rate * share * 15) + 10, seed_no)
                    tasks["events"] = asyncio.create_task(
                        fixed_rate(api, ports, rate * share, events, with_api_load=False)
                    )
                done = {k: await t for k, t in tasks.items()}
                row: dict[str, Any] = {
                    "step": name,
                    "events_per_s": round(rate * share, 1),
                    "quiet_after_s": settled,
                }
                if "reads" in done:
                    row["reads"] = done["reads"]
                if "events" in done:
                    row["event_latency_ms"] = done["events"]["latency_ms"]
                row["cpu_percent"] = cpu(meter)
                out["steps"].append(row)
                sys.stderr.write(json.dumps(row) + "\n")

            for name, read_rate, share in (
                ("reads alone", reads_per_s, 0.0),
                ("events alone at 80 %", 0.0, 0.8),
                ("reads + events at 40 %", reads_per_s, 0.4),
                ("reads + events at 80 %", reads_per_s, 0.8),
            ):
                with phase(name):
                    await step(name, read_rate, share)
            return out
    finally:
        stack.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--reads", type=float, default=50.0)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=", ".join(VARIANTS))
    parser.add_argument(
        "--saturation-only",
        action="store_true",
        help="only the 4,000-event burst of each variant (more rounds for its spread)",
    )
    args = parser.parse_args()
    stop_on_sigterm()
    vegeta()  # built before the first stack starts
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in args.variants.split(",")}
    for _ in range(args.rounds):
        for name in runs:
            runs[name].append(asyncio.run(variant(name, args.reads, args.saturation_only)))
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "reads_per_s": args.reads, "runs": runs}
    kind = "mixed-saturation" if args.saturation_only else "mixed"
    out = RESULTS / f"{kind}-{time.strftime('%Y-%m-%d-%H%M')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
