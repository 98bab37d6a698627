"""Teachers' reads while events flow, one process against the two roles (issue 27):
python -m bench.mixed [--rounds N] [--reads R] (make bench-mixed; also in make bench).

For each variant — ``combined`` (one process, role all), ``split`` (a front end and an
actor host, each with its own daprd) and ``split-pinned`` (the same, each role and its
daprd pinned to a core of its own with taskset: what separate machines buy, as near as
two cores allow; Kafka and PostgreSQL float) — alternating, on a fresh stack each time:
seed a school of 400 students in 4 classes through Kafka; measure the saturation (4,000
events as fast as possible); then teachers' reads at R/s (default 50) from vegeta, an
external load generator (runtime/vegeta.sh), alone, and while events are published at
40 % and 80 % of the saturation; and the events alone at 80 %. Reported per step: the
reads' p50/p95/p99 (vegeta's), the events' p95 publish -> progress.updated, and CPU
per process (app, daprd, and the actor host's app and daprd when split). Writes
bench/results/mixed-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
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
    publish_and_wait,
    replica_ports,
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


async def attack(ports: Ports, classes: dict[str, list[str]], rate: float) -> dict[str, Any]:
    """Reads at ``rate`` for READ_SECONDS from vegeta; its latencies in ms."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(targets(ports, classes, int(rate * READ_SECONDS) + 10))
    proc = await asyncio.create_subprocess_shell(
        f"{vegeta()} attack -format=http -targets={f.name} -rate={round(rate)}/1s "
        f"-duration={READ_SECONDS}s -timeout=30s | {vegeta()} report -type=json",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    Path(f.name).unlink()
    report = json.loads(out)
    lat = report["latencies"]
    return {
        "requests": report["requests"],
        "success": report["success"],
        "p50_ms": round(lat["50th"] / 1e6, 1),
        "p95_ms": round(lat["95th"] / 1e6, 1),
        "p99_ms": round(lat["99th"] / 1e6, 1),
        "status_codes": report["status_codes"],
    }


async def handled(host: httpx.AsyncClient) -> float:
    text = (await host.get("/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("progress_events_total{")
    )


def cpu(meter: ResourceMeter) -> dict[str, float]:
    """CPU share of each process (percent of one core) since ``meter`` started."""
    return {k: v["cpu_percent"] for k, v in meter.report(1).items()}


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


async def variant(name: str, reads_per_s: float) -> dict[str, Any]:
    ports = replica_ports(1)
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
                    ports, school(tag, SATURATION_EVENTS, 3), lambda: handled(host)
                )
            rate = sat["events_per_s"]
            out: dict[str, Any] = {"saturation_events_per_s": rate, "steps": []}
            seed_no = 10

            async def step(name: str, read_rate: float, share: float) -> None:
                nonlocal seed_no
                seed_no += 1
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
                row: dict[str, Any] = {"step": name, "events_per_s": round(rate * share, 1)}
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
    args = parser.parse_args()
    stop_on_sigterm()
    vegeta()  # built before the first stack starts
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in args.variants.split(",")}
    for _ in range(args.rounds):
        for name in runs:
            runs[name].append(asyncio.run(variant(name, args.reads)))
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "reads_per_s": args.reads, "runs": runs}
    out = RESULTS / f"mixed-{time.strftime('%Y-%m-%d-%H%M')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
