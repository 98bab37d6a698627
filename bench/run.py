"""make bench: throughput at saturation, end-to-end latency percentiles at 25/50/90 %
of it, API latency under load, CPU and peak memory per process, the floor (a no-op
Dapr subscriber on the same daprd + Kafka), and teachers' reads while events flow in one
process and in the two roles (bench/mixed.py; BENCH_MIXED=0 leaves it out). Writes
bench/results/<date>.json and .png.

End-to-end latency = publish into Kafka -> the matching progress.updated read back from
Kafka (so: consumed, applied by the actor, state saved, outbox published). Only events
that change a mastery score produce progress.updated, so latency is measured on those
(about 60 % of the mix); throughput counts every event.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.harness import process_memory_mb
from bench.noop_app import FLOOR_TOPIC
from bench.workload import Event, generate
from service.dev_token import mint
from tests.integration.kafka_io import Publisher
from tests.integration.stack import REPO, Ports, ProgressBar, Stack, phase, stop_on_sigterm

STACK_DIR = Path(os.environ.get("STACK_DIR", REPO / ".stack"))
RESULTS = REPO / "bench" / "results"
SATURATION_EVENTS = int(os.environ.get("BENCH_EVENTS", "20000"))
STEP_SECONDS = float(os.environ.get("BENCH_STEP_SECONDS", "15"))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(pct(values, 50), 2),
        "p95": round(pct(values, 95), 2),
        "p99": round(pct(values, 99), 2),
    }


# ---------------------------------------------------------------- processes
def _pids() -> dict[str, list[int]]:
    def read(name: str) -> int | None:
        f = STACK_DIR / "run" / f"{name}.pid"
        return int(f.read_text()) if f.exists() else None

    out: dict[str, list[int]] = {}
    for label, name in [
        ("app", "bench-app"),
        ("daprd", "bench-daprd"),
        # a split instance's actor host (bench/mixed.py); absent for one process
        ("host_app", "bench-actors-app"),
        ("host_daprd", "bench-actors-daprd"),
        ("kafka", "kafka"),
        ("postgres", "postgres"),
    ]:
        pid = read(name)
        if pid is None:
            continue
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        out[label] = [pid, *(int(p) for p in children.stdout.split())]
    return out


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ResourceMeter:
    def __init__(self) -> None:
        self.pids = _pids()
        self.start = {k: sum(_cpu_seconds(p) for p in v) for k, v in self.pids.items()}
        self.t0 = time.monotonic()

    def report(self, events: int) -> dict[str, dict[str, float]]:
        """Per process: CPU share, CPU milliseconds per event, peak RSS."""
        wall = time.monotonic() - self.t0
        out = {}
        for k, v in self.pids.items():
            cpu = sum(_cpu_seconds(p) for p in v) - self.start[k]
            out[k] = {
                "cpu_percent": round(cpu / wall * 100, 1),
                "cpu_ms_per_event": round(cpu * 1000 / events, 3),
                "peak_rss_mb": round(sum(process_memory_mb(p, "VmHWM") for p in v), 1),
            }
        return out


# ---------------------------------------------------------------- measurements
async def handled_count(api: httpx.AsyncClient) -> float:
    text = (await api.get("/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("progress_events_total{")
    )


async def publish_and_wait(
    ports: Ports,
    events: list[Event],
    handled: Callable[[], Awaitable[float]],
    topic: str | None = None,
) -> dict[str, float]:
    """Publish ``events`` as fast as possible (to their own topics, or all to ``topic``)
    and wait until ``handled()`` has grown by their number; seconds taken."""
    before = await handled()
    start = time.monotonic()
    async with Publisher(f"127.0.0.1:{ports.kafka}") as pub:
        for e in events:
            if topic is None:
                await pub.send(e)
            else:
                await pub.send_raw(topic, json.dumps(e.cloud_event()).encode(), e.student_id)
        await pub.flush()
    published = time.monotonic() - start
    bar = ProgressBar("events handled", len(events))
    while (done := await handled() - before) < len(events):
        bar.update(done)
        if time.monotonic() - start > 600:
            raise RuntimeError(f"{len(events)} events not handled within 600 s")
        await asyncio.sleep(0.25)
    elapsed = time.monotonic() - start
    return {
        "events": len(events),
        "seconds": round(elapsed, 2),
        "events_per_s": round(len(events) / elapsed, 1),
        "publish_seconds": round(published, 2),
    }


async def saturation(api: httpx.AsyncClient, ports: Ports, events: list[Event]) -> dict[str, Any]:
    meter = ResourceMeter()
    result: dict[str, Any] = await publish_and_wait(ports, events, lambda: handled_count(api))
    resources = meter.report(len(events))
    app_and_daprd = sum(
        resources[k]["cpu_ms_per_event"] for k in ("app", "daprd") if k in resources
    )
    return {
        **result,
        "resources": resources,
        "app_and_daprd_cpu_ms_per_event": round(app_and_daprd, 3),
    }


async def floor(ports: Ports, events: list[Event]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports.app}", timeout=10) as c:

        async def delivered() -> float:
            return float((await c.get("/count")).json()["n"])

        return await publish_and_wait(ports, events, delivered, topic=FLOOR_TOPIC)


async def _progress_reader(
    ports: Ports, sent: dict[str, float], latencies: list[float], stop: asyncio.Event
) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=f"127.0.0.1:{ports.kafka}", enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition("progress.updated", p) for p in range(6)]
        consumer.assign(tps)
        for tp, offset in (await consumer.end_offsets(tps)).items():
            consumer.seek(tp, offset)
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            now = time.monotonic()
            for records in batch.values():
                for r in records:
                    trigger = json.loads(r.value)["data"].get("trigger_event_id")
                    if trigger in sent:
                        latencies.append((now - sent.pop(trigger)) * 1000)
    finally:
        await consumer.stop()


async def _api_load(
    api: httpx.AsyncClient, students: list[str], stop: asyncio.Event, lat: dict[str, list[float]]
) -> None:
    rnd = random.Random(5)
    while not stop.is_set():
        for route, url in (
            ("progress", f"/progress/{rnd.choice(students)}"),
            ("struggles", "/struggles?limit=50"),
        ):
            t = time.perf_counter()
            r = await api.get(url)
            if r.status_code in (200, 404):
                lat[route].append((time.perf_counter() - t) * 1000)


async def fixed_rate(
    api: httpx.AsyncClient, ports: Ports, rate: float, events: list[Event], with_api_load: bool
) -> dict[str, Any]:
    sent: dict[str, float] = {}
    latencies: list[float] = []
    stop = asyncio.Event()
    reader = asyncio.create_task(_progress_reader(ports, sent, latencies, stop))
    await asyncio.sleep(1.0)
    api_lat: dict[str, list[float]] = {"progress": [], "struggles": []}
    workers = []
    if with_api_load:
        students = sorted({e.student_id for e in events})
        workers = [asyncio.create_task(_api_load(api, students, stop, api_lat)) for _ in range(4)]
    count = int(rate * STEP_SECONDS)
    start = time.monotonic()
    async with Publisher(f"127.0.0.1:{ports.kafka}") as pub:
        for i, e in enumerate(events[:count]):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[e.event_id] = time.monotonic()
            await pub.send(e)
    duration = time.monotonic() - start
    await asyncio.sleep(3.0)  # let the tail arrive
    stop.set()
    await asyncio.gather(reader, *workers)
    result: dict[str, Any] = {
        "offered_events_per_s": round(rate, 1),
        "events": count,
        "latency_ms": summary(latencies),
    }
    if with_api_load:
        result["api"] = {
            k: {**summary(v), "requests_per_s": round(len(v) / duration, 1)}
            for k, v in api_lat.items()
        }
    return result


def replica_ports(i: int) -> Ports:
    """Ports of replica i (1-based) of the benchmark's app + daprd."""
    k = 1000 * (i - 1)  # distinct ports for up to 3 replicas
    return Ports(
        app=28000 + k,
        dapr_http=23500 + k,
        dapr_grpc=25001 + k,
        dapr_metrics=29191 + k,
        dapr_internal=25011 + k,
        database="progress_bench",
        app_id="progress-bench",
    )


def fresh_instance_ports() -> Ports:
    """Replica 1's ports with an app id of this moment's own (and so a namespace,
    consumer group and actors of its own): the stuck reminders of an earlier run's
    students live on in the scheduler and would fire into a run started within ten
    minutes of it."""
    return replace(replica_ports(1), app_id=f"progress-bench-{int(time.time())}")


def replica(i: int) -> Stack:
    return Stack(replica_ports(i), name="bench" if i == 1 else f"bench{i}", fast_timers=False)


async def activations(ports: Ports) -> float:
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=10) as c:
        text = (await c.get("/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("progress_actor_activations_total ")
    )


async def scaling(api: httpx.AsyncClient, tag: str) -> list[dict[str, Any]]:
    """Saturation throughput with 1, 2 and 3 replicas (each its own daprd; one
    placement, scheduler, Kafka, Postgres), and how placement spread the actors."""
    rows = []
    extra: list[Stack] = []
    try:
        for count in (1, 2, 3):
            while len(extra) < count - 1:
                s = replica(len(extra) + 2)
                extra.append(s)  # stopped in finally even if its start fails half-way
                s.app("start")
            await asyncio.sleep(5)  # consumer group rebalance, placement dissemination
            before = {i: await activations(replica_ports(i)) for i in range(1, count + 1)}
            events = generate(SATURATION_EVENTS, 500, seed=10 + count, prefix=f"{tag}-x{count}")
            clients = [
                httpx.AsyncClient(base_url=replica_ports(i).app_url, timeout=10)
                for i in range(1, count + 1)
            ]
            try:

                async def handled_everywhere(
                    clients: list[httpx.AsyncClient] = clients,
                ) -> float:
                    return sum([await handled_count(c) for c in clients])

                run = await publish_and_wait(replica_ports(1), events, handled_everywhere)
            finally:
                for c in clients:
                    await c.aclose()
            spread = {
                f"replica{i}": await activations(replica_ports(i)) - before[i]
                for i in range(1, count + 1)
            }
            hosts = (await api.get("/ops/actors")).json()["placement_hosts"]
            rows.append(
                {
                    "replicas": count,
                    "events_per_s": run["events_per_s"],
                    "actor_activations_per_replica": spread,
                    "placement_hosts": len(hosts),
                }
            )
    finally:
        for s in extra:
            s.app("stop")
    return rows


def plot(results: dict[str, Any], path: Path) -> None:

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = results["latency_steps"]
    x = [s["offered_events_per_s"] for s in steps]
    fig, ax = plt.subplots(figsize=(7, 4))
    for p in ("p50", "p95", "p99"):
        ax.plot(x, [s["latency_ms"][p] for s in steps], marker="o", label=p)
    ax.set_xlabel("offered load (events/s)")
    ax.set_ylabel("publish -> progress.updated (ms)")
    ax.set_title(
        f"Progress Service end-to-end latency (saturation "
        f"{results['saturation']['events_per_s']} ev/s)"
    )
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem) / 1048576, 1),
        "python": platform.python_version(),
    }


def admin_api(ports: Ports) -> httpx.AsyncClient:
    """The benchmark instance's HTTP API, as an admin."""
    headers = {"Authorization": f"Bearer {mint('admin', 'bench')}"}
    return httpx.AsyncClient(base_url=ports.app_url, headers=headers, timeout=30)


async def _service_figures(ports: Ports) -> dict[str, Any]:
    """Saturation, latency at 25/50/90 % of it (API load at 50 %), the teachers' views
    at school scale (bench/class_views.py), a background dry run over 400,000 retained
    events (bench/dry_runs.py) and, unless BENCH_SCALING=0, the replica
    scaling runs."""
    results: dict[str, Any] = {}
    async with admin_api(ports) as api:
        tag = f"bench-{int(time.time())}"
        with phase("warm-up"):
            await saturation(api, ports, generate(500, 100, seed=1, prefix=f"{tag}-warm"))
        sat_events = generate(SATURATION_EVENTS, 500, seed=2, prefix=f"{tag}-sat")
        with phase(f"saturation, Zipf activity ({len(sat_events)} events)"):
            results["saturation"] = await saturation(api, ports, sat_events)
        uniform = generate(SATURATION_EVENTS, 500, seed=3, prefix=f"{tag}-uni", zipf_s=0)
        with phase(f"saturation, uniform activity ({len(uniform)} events)"):
            results["saturation_uniform"] = await saturation(api, ports, uniform)
        rate = results["saturation"]["events_per_s"]
        steps = []
        for share in (0.25, 0.5, 0.9):
            events = generate(
                int(rate * share * STEP_SECONDS) + 10,
                500,
                seed=int(share * 100),
                prefix=f"{tag}-r{int(share * 100)}",
            )
            with phase(f"latency at {share:.0%} of saturation ({rate * share:.0f} events/s)"):
                step = await fixed_rate(
                    api, ports, rate * share, events, with_api_load=share == 0.5
                )
            step["share_of_saturation"] = share
            steps.append(step)
        results["latency_steps"] = steps
        # imported here: bench.class_views uses this module's helpers
        from bench.class_views import class_views

        results["class_views"] = await class_views(ports)
        from bench.console_pages import console_pages

        results["console_pages"] = await console_pages(ports)
        from bench.dry_runs import dry_runs

        results["dry_runs"] = await dry_runs(ports)
        from bench.xapi_statements import xapi_statements

        results["xapi_statements"] = await xapi_statements(ports)
        if os.environ.get("BENCH_SCALING", "1") == "1":
            with phase("replicas 1, 2 and 3"):
                results["scaling"] = await scaling(api, tag)
    return results


async def main_async() -> dict[str, Any]:
    ports = replica_ports(1)
    stack = replica(1)
    floor_ports = Ports(
        app=28100,
        dapr_http=23600,
        dapr_grpc=25101,
        dapr_metrics=29291,
        dapr_internal=25111,
        database="progress_bench",  # the floor's daprd needs a state store; it stores nothing
    )

    def floor_stack(bulk: bool) -> Stack:
        return Stack(
            floor_ports,
            name="floor",
            fast_timers=False,
            extra_env={
                "APP_MODULE": "bench.noop_app:app",
                "DAPR_APP_ID": "progress-floor",
                "WAIT_FOR_ACTORS": "0",
                "FLOOR_BULK": "1" if bulk else "0",
            },
        )

    # stack.up() records which shared parts (Kafka, PostgreSQL, placement, scheduler) this
    # run started; stack.down() at the end stops those and nothing else.
    stack.up()
    try:
        results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(), "machine": machine()}
        try:
            results |= await _service_figures(ports)
        finally:
            stack.app("stop")  # the floor runs alone
        for key, bulk in (("floor", False), ("floor_bulk", True)):
            subscriber = floor_stack(bulk)
            subscriber.app("start")
            try:
                with phase(f"floor: no-op subscriber {'in bulk' if bulk else 'per message'}"):
                    results[key] = await floor(
                        floor_ports, generate(SATURATION_EVENTS, 500, seed=2, prefix=key)
                    )
            finally:
                subscriber.app("stop")
    finally:
        stack.down()
    if os.environ.get("BENCH_MIXED", "1") == "1":
        # teachers' reads while events flow, one process and the two roles (issue 27);
        # each variant starts and stops its own instance
        from bench.mixed import VARIANTS, variant

        results["mixed"] = {name: await variant(name, 50.0) for name in VARIANTS}
    for key in ("floor", "floor_bulk"):
        results[f"{key}_ratio"] = round(
            results["saturation"]["events_per_s"] / results[key]["events_per_s"], 3
        )
    return results


def main() -> None:
    stop_on_sigterm()
    results = asyncio.run(main_async())
    RESULTS.mkdir(parents=True, exist_ok=True)
    day = time.strftime("%Y-%m-%d")
    (RESULTS / f"{day}.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(results, RESULTS / f"{day}.png")
    sat = results["saturation"]
    sys.stdout.write(
        f"saturation: {sat['events_per_s']} events/s (uniform "
        f"{results['saturation_uniform']['events_per_s']}); floor per message "
        f"{results['floor']['events_per_s']} events/s (ratio {results['floor_ratio']}), "
        f"bulk {results['floor_bulk']['events_per_s']} (ratio {results['floor_bulk_ratio']}); "
        f"app + daprd CPU {sat['app_and_daprd_cpu_ms_per_event']} ms/event\n"
    )
    for s in results["latency_steps"]:
        sys.stdout.write(
            f"  {s['share_of_saturation']:.0%} ({s['offered_events_per_s']} ev/s): "
            f"latency {s['latency_ms']}\n"
        )
        if "api" in s:
            sys.stdout.write(f"  API under load: {s['api']}\n")
    sys.stdout.write(f"resources at saturation: {sat['resources']}\n")
    for row in results.get("scaling", []):
        sys.stdout.write(f"  scaling: {row}\n")

    sys.stdout.write(f"written {RESULTS / (day + '.json')} and .png\n")


if __name__ == "__main__":
    main()
