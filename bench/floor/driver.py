"""The floor, by transport: ``python -m bench.floor`` (``make bench-floor``).

Each variant of the no-op actor service (bench/floor/app.py) runs on the same daprd,
Kafka, PostgreSQL, placement and scheduler as the service, with the service's flags,
alone on the machine, in alternating order over the rounds (A B C ..., then ... C B A).
A run: start the variant (runtime/app.sh), check one event goes through, warm up
``--students`` students (one event each: every actor activated), then paced steps at
each rate cycling through those students round-robin (uniform, one event per student
per turn), the CPU rate held for ``--cpu-seconds``, then saturation: ``--saturation-
events`` over ``--saturation-students`` new students, published at once. Per step:
publish -> result-topic message p50/p95/p99 (read back from Kafka by this process), and
CPU per event of the app, daprd, Kafka and PostgreSQL from /proc. The variant
``service`` is the service itself on today's HTTP path (the bench instance), measured
the same way against ``progress.updated``.

Writes bench/results/floor-<date>.json after every run (every run, then per variant the
median and range of each figure over the rounds, and ratios to ``http`` and ``service``)
and prints the table docs/performance.md carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from bench.ab import worktree
from bench.floor.meter import Meter, recorded_pid, stack_groups
from bench.floor.plan import (
    DriverSettings,
    Step,
    cycle,
    latency_summary,
    parse_args,
    ratio,
    run_order,
    saturated,
    spread,
)
from bench.floor.settings import DEADLETTER_TOPIC, IN_TOPIC, OUT_TOPIC
from bench.run import RESULTS, handled_count, machine, replica_ports
from bench.workload import Event, generate
from tests.integration.kafka_io import Publisher
from tests.integration.stack import (
    REPO,
    RUNTIME,
    Ports,
    Stack,
    phase,
    start_group_at_end,
    stop_on_sigterm,
)

STACK_DIR = Path(os.environ.get("STACK_DIR", REPO / ".stack"))
# The floor's own instance: ports, app id (also its consumer group and namespace) and
# database apart from make run's, the tests' and the bench instance's.
FLOOR_PORTS = Ports(
    app=28300,
    dapr_http=23800,
    dapr_grpc=25301,
    dapr_metrics=29491,
    dapr_internal=25311,
    database="progress_floor",
    app_id="progress-floor-turns",
)
FLOOR_APP_GRPC_PORT = 28301  # the gRPC app channel of the streaming actor host
FLOOR_NAME = "floor-turns"  # runtime/app.sh's instance name (pid and log files)
SERVICE_NAME = "bench"
PARTITIONS = 6
START_PROBE_SECONDS = 120.0
WARMUP_SECONDS = 240.0
SATURATION_SECONDS = 300.0


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    app_env: dict[str, str] = field(default_factory=dict)
    daprd_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    telemetry_off: bool = False
    service: bool = False


_STREAM_HOST_ENV = {
    "FLOOR_HOST": "stream",
    "FLOOR_CLIENTS": "grpc",
    "FLOOR_APP_GRPC_PORT": str(FLOOR_APP_GRPC_PORT),
}
_GRPC_APP_CHANNEL = ("--app-protocol", "grpc", "--app-port", str(FLOOR_APP_GRPC_PORT))

VARIANTS = {
    v.name: v
    for v in (
        Variant(
            "http",
            "today's HTTP path: FastAPI actor host, keep-alive HTTP clients, HTTP bulk",
        ),
        Variant(
            "grpc-clients",
            "gRPC clients (InvokeActor, ExecuteActorStateTransaction, PublishEvent), "
            "FastAPI actor host, HTTP bulk",
            app_env={"FLOOR_CLIENTS": "grpc"},
        ),
        Variant(
            "stream-host",
            "streaming actor host (SubscribeActorEventsAlpha1), gRPC clients, "
            "bulk over the gRPC app channel (OnBulkTopicEvent)",
            app_env=_STREAM_HOST_ENV,
            daprd_args=_GRPC_APP_CHANNEL,
        ),
        Variant(
            "stream-topics",
            "SubscribeTopicEventsAlpha1 (one message at a time) instead of HTTP bulk; "
            "otherwise today's HTTP path",
            app_env={"FLOOR_DELIVERY": "stream"},
        ),
        Variant(
            "telemetry-off",
            "today's HTTP path, daprd metrics off (--enable-metrics=false) and tracing "
            "sampling 0 (against metrics on and 1 in 10,000)",
            telemetry_off=True,
        ),
        Variant(
            "gogc-400",
            "today's HTTP path, daprd with GOGC=400 (against 100)",
            env={"DAPRD_GOGC": "400"},
        ),
        Variant(
            "service",
            "the service itself on today's HTTP path (bench instance, progress.updated)",
            service=True,
        ),
        # not in the default list: a second commit of the service, to measure a change
        # of the service against ``service`` in the same run
        Variant(
            "candidate",
            "the service as committed at --candidate-commit (default HEAD), beside service",
            service=True,
        ),
        # not in the default list: the stream host with streaming delivery too
        Variant(
            "stream-all",
            "streaming actor host, gRPC clients, SubscribeTopicEventsAlpha1",
            app_env={**_STREAM_HOST_ENV, "FLOOR_DELIVERY": "stream"},
            daprd_args=_GRPC_APP_CHANNEL,
        ),
    )
}
DEFAULT_VARIANTS = (
    "http",
    "grpc-clients",
    "stream-host",
    "stream-topics",
    "telemetry-off",
    "gogc-400",
    "service",
)

TELEMETRY_OFF_CONFIG = """\
# Written by bench/floor/driver.py: applied after components/config.yaml (daprd loads
# every --config in order, each over the last).
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: progress-config
spec:
  tracing:
    samplingRate: "0"
  metric:
    enabled: false
"""


# ---------------------------------------------------------------- Kafka plumbing
async def ensure_topics(bootstrap: str, topics: Sequence[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for topic in topics:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()


async def group_to_end(bootstrap: str, group: str, topic: str) -> None:
    """The consumer group starts at the topic's end: what an earlier run left unread
    (a saturated step's backlog) is skipped. Refused while the group has live members."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        try:
            await consumer.commit(await consumer.end_offsets(tps))
        except KafkaError as exc:
            sys.stderr.write(f"consumer group {group} keeps its offsets: {exc!r}\n")
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: str
    body: bytes
    event_id: str


class ResultReader:
    """Reads the result topic from its end and times each expected event: publish (as
    recorded by ``expect``) -> the result message read here."""

    def __init__(self, bootstrap: str, topic: str, id_of: Callable[[Any], str | None]) -> None:
        self._bootstrap = bootstrap
        self._consumer: AIOKafkaConsumer | None = None
        self._topic = topic
        self._id_of = id_of
        self._sent: dict[str, tuple[float, str]] = {}
        self.latencies: dict[str, list[float]] = {}
        self.received = 0
        self.last_at = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False)
        self._consumer = consumer
        await consumer.start()
        tps = [TopicPartition(self._topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        for tp, offset in (await consumer.end_offsets(tps)).items():
            consumer.seek(tp, offset)
        self._task = asyncio.create_task(self._run(consumer))

    def expect(self, event_id: str, at: float, step: str) -> None:
        self._sent[event_id] = (at, step)

    def forget(self) -> None:
        """Events still unreceived are no longer waited for (a step is over)."""
        self._sent.clear()

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            now = time.monotonic()
            for records in batch.values():
                for r in records:
                    try:
                        event_id = self._id_of(json.loads(r.value))
                    except (ValueError, TypeError, KeyError, AttributeError):
                        continue
                    sent = self._sent.pop(event_id, None) if event_id else None
                    if sent is None:
                        continue
                    self.latencies.setdefault(sent[1], []).append((now - sent[0]) * 1000)
                    self.received += 1
                    self.last_at = now

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()


# ---------------------------------------------------------------- the two targets
class Target:
    """What a run drives: the floor app or the service."""

    name: str
    result_topic: str
    pid_names: tuple[str, str]
    stack: Stack
    poll_s = 0.05  # how often the driver asks how many events were handled

    def result_id(self, message: Any) -> str | None:
        raise NotImplementedError

    def events(self, prefix: str, students: Sequence[str]) -> list[Outgoing]:
        raise NotImplementedError

    async def handled(self, reader: ResultReader) -> int:
        raise NotImplementedError

    async def prepare(self, bootstrap: str) -> None:
        raise NotImplementedError

    def app_sh(self, command: str) -> None:
        """runtime/app.sh COMMAND for this target's instance (start, stop)."""
        self.stack.app(command)

    async def aclose(self) -> None:
        return None


def _floor_body(event_id: str, student_id: str) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "bench.floor",
            "type": "bench.floor.event",
            "datacontenttype": "application/json",
            "data": {"event_id": event_id, "student_id": student_id},
        },
        separators=(",", ":"),
    ).encode()


class FloorTarget(Target):
    result_topic = OUT_TOPIC
    pid_names = (f"{FLOOR_NAME}-app", f"{FLOOR_NAME}-daprd")

    def __init__(self, variant: Variant, config_overlay: Path) -> None:
        self.name = variant.name
        args = list(variant.daprd_args)
        if variant.telemetry_off:
            args += ["--enable-metrics=false", "--config", str(config_overlay)]
        self.stack = Stack(
            FLOOR_PORTS,
            name=FLOOR_NAME,
            fast_timers=False,
            extra_env={
                "APP_MODULE": "bench.floor.app:app",
                "WAIT_FOR_ACTORS": "0",
                "DAPRD_EXTRA_ARGS": " ".join(args),
                # Go's default, as the floor was first measured; runtime/app.sh's is 400
                "DAPRD_GOGC": "100",
                **variant.app_env,
                **variant.env,
            },
        )

    def result_id(self, message: Any) -> str | None:
        value = message["data"]["event_id"]
        return value if isinstance(value, str) else None

    def events(self, prefix: str, students: Sequence[str]) -> list[Outgoing]:
        out = []
        for i, sid in enumerate(students):
            eid = f"{prefix}-e{i:07d}"
            out.append(Outgoing(IN_TOPIC, sid, _floor_body(eid, sid), eid))
        return out

    async def handled(self, reader: ResultReader) -> int:
        return reader.received  # one result per event

    async def prepare(self, bootstrap: str) -> None:
        await group_to_end(bootstrap, FLOOR_PORTS.app_id, IN_TOPIC)


class ServiceTarget(Target):
    """The service as committed at ``checkout`` (a git worktree of the baseline commit:
    this worktree may hold someone's half-done edits), started by that checkout's
    runtime/app.sh on this stack (same STACK_DIR: pid files, logs, API tokens)."""

    result_topic = "progress.updated"
    pid_names = (f"{SERVICE_NAME}-app", f"{SERVICE_NAME}-daprd")
    poll_s = 0.25  # a GET /metrics each time, on the measured app's CPU

    def __init__(self, variant: Variant, tag: str, checkout: Path) -> None:
        self.name = variant.name
        self.ports = replica_ports(1)
        self.checkout = checkout
        # a namespace of its own per run: reminders armed by an earlier run (stuck after
        # 10 minutes) must not fire in this one
        self.stack = Stack(
            self.ports,
            name=SERVICE_NAME,
            fast_timers=False,
            # Go's default GC for daprd, as in the floor's variants (runtime/app.sh's
            # default is 400 since issue 23; a commit before it ignores the setting)
            extra_env={"DAPR_NAMESPACE": f"{self.ports.app_id}-{tag}", "DAPRD_GOGC": "100"},
        )
        self._api = httpx.AsyncClient(base_url=self.ports.app_url, timeout=10)

    def app_sh(self, command: str) -> None:
        done = subprocess.run(
            [str(self.checkout / "runtime" / "app.sh"), command, SERVICE_NAME],
            cwd=self.checkout,
            env={**os.environ, **self.stack.app_env(), "STACK_DIR": str(STACK_DIR)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"app.sh {command} {SERVICE_NAME} failed:\n{done.stdout}")

    def result_id(self, message: Any) -> str | None:
        value = message["data"].get("trigger_event_id")
        return value if isinstance(value, str) else None

    def events(self, prefix: str, students: Sequence[str]) -> list[Outgoing]:
        base = generate(len(students), 1, seed=zlib.crc32(prefix.encode()), prefix=prefix)
        out = []
        for e, sid in zip(base, students, strict=True):
            event = Event(e.type, {**e.data, "student_id": sid})
            body = json.dumps(event.cloud_event()).encode()
            out.append(Outgoing(event.kafka_topic, sid, body, event.event_id))
        return out

    async def handled(self, reader: ResultReader) -> int:
        return int(await handled_count(self._api))

    async def prepare(self, bootstrap: str) -> None:
        await start_group_at_end(bootstrap, self.ports.app_id)

    async def aclose(self) -> None:
        await self._api.aclose()


# ---------------------------------------------------------------- one run
async def publish(
    pub: Publisher, reader: ResultReader, items: Sequence[Outgoing], step: str, rate: float | None
) -> float:
    """Publish ``items`` at ``rate`` per second (None: at once); seconds taken."""
    start = time.monotonic()
    for i, o in enumerate(items):
        if rate is not None:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        reader.expect(o.event_id, time.monotonic(), step)
        await pub.send_raw(o.topic, o.body, o.key)
    await pub.flush()
    return time.monotonic() - start


async def wait_handled(
    handled: Callable[[], Awaitable[int]], target: int, timeout: float, poll_s: float = 0.1
) -> tuple[int, float]:
    """Poll until ``handled()`` reaches ``target`` or ``timeout`` passes: (handled,
    the moment it was seen)."""
    deadline = time.monotonic() + timeout
    while True:
        now_handled = await handled()
        now = time.monotonic()
        if now_handled >= target or now > deadline:
            return now_handled, now
        await asyncio.sleep(poll_s)


def _meter(target: Target) -> Meter:
    return Meter(stack_groups(STACK_DIR, *target.pid_names))


def _checks(target: Target) -> dict[str, Any]:
    """What the variant's daprd really runs with: GOGC from its environment, whether
    its metrics port answers."""
    pid = recorded_pid(STACK_DIR, target.pid_names[1])
    gogc = None
    if pid is not None:
        with contextlib.suppress(OSError):
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            gogc = next((e.split(b"=", 1)[1].decode() for e in env if e.startswith(b"GOGC=")), None)
    port = target.stack.ports.dapr_metrics
    with socket.socket() as s:
        s.settimeout(1)
        metrics_open = s.connect_ex(("127.0.0.1", port)) == 0
    return {"daprd_gogc": gogc, "daprd_metrics_port_open": metrics_open}


async def one_run(
    target: Target, settings: DriverSettings, bootstrap: str, tag: str
) -> dict[str, Any]:
    result: dict[str, Any] = {"variant": target.name, "started": datetime.now(UTC).isoformat()}
    reader = ResultReader(bootstrap, target.result_topic, target.result_id)

    async def handled() -> int:
        return await target.handled(reader)

    await target.prepare(bootstrap)
    t0 = time.monotonic()
    with phase(f"{target.name}: start"):
        await asyncio.to_thread(target.app_sh, "start")
    try:
        await reader.start()
        async with Publisher(bootstrap) as pub:
            # one event through the whole path (subscriptions and actors in place)
            probe = target.events(f"{tag}-probe", [f"{tag}-probe-s0"])
            before = await handled()
            await publish(pub, reader, probe, "probe", None)
            got, _ = await wait_handled(handled, before + 1, START_PROBE_SECONDS, target.poll_s)
            if got < before + 1:
                raise RuntimeError(f"no event went through within {START_PROBE_SECONDS:.0f} s")
            result["startup_s"] = round(time.monotonic() - t0, 1)
            result["checks"] = _checks(target)

            students = [f"{tag}-s{i:05d}" for i in range(settings.students)]
            with phase(f"{target.name}: warm-up, {len(students)} students"):
                result["warmup"] = await _burst(
                    target,
                    pub,
                    reader,
                    target.events(f"{tag}-w", students),
                    "warmup",
                    WARMUP_SECONDS,
                    handled,
                )
            reader.forget()
            result["steps"] = await _steps(target, settings, pub, reader, tag, students, handled)
            sat_students = [f"{tag}-x{i:05d}" for i in range(settings.saturation_students)]
            sat = target.events(f"{tag}-x", cycle(sat_students, 0, settings.saturation_events))
            with phase(f"{target.name}: saturation, {len(sat)} events"):
                result["saturation"] = await _burst(
                    target, pub, reader, sat, "saturation", SATURATION_SECONDS, handled
                )
    finally:
        await reader.stop()
        await asyncio.to_thread(target.app_sh, "stop")
    return result


async def _burst(
    target: Target,
    pub: Publisher,
    reader: ResultReader,
    items: list[Outgoing],
    step: str,
    timeout: float,
    handled: Callable[[], Awaitable[int]],
) -> dict[str, Any]:
    meter = _meter(target)
    before = await handled()
    start = time.monotonic()
    published = await publish(pub, reader, items, step, None)
    got, seen = await wait_handled(handled, before + len(items), timeout, target.poll_s)
    done = got - before
    end = reader.last_at if isinstance(target, FloorTarget) and done >= len(items) else seen
    elapsed = end - start
    cpu = meter.report(max(done, 1))
    return {
        "events": len(items),
        "handled": done,
        "seconds": round(elapsed, 2),
        "events_per_s": round(done / elapsed, 1) if elapsed > 0 else None,
        "publish_seconds": round(published, 2),
        "complete": done >= len(items),
        "cpu": cpu,
        "app_and_daprd_cpu_ms_per_event": _app_and_daprd(cpu),
    }


def _app_and_daprd(cpu: dict[str, dict[str, float]]) -> float | None:
    if "app" not in cpu or "daprd" not in cpu:
        return None
    return round(cpu["app"]["cpu_ms_per_event"] + cpu["daprd"]["cpu_ms_per_event"], 3)


async def _steps(
    target: Target,
    settings: DriverSettings,
    pub: Publisher,
    reader: ResultReader,
    tag: str,
    students: list[str],
    handled: Callable[[], Awaitable[int]],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    position = 0  # the cycle through the students goes on from step to step
    skip_from: float | None = None
    for step in settings.steps():
        if skip_from is not None:
            rows.append(
                {
                    "rate": step.rate,
                    "cpu_step": step.cpu,
                    "skipped": f"saturated at {skip_from:g}/s",
                }
            )
            continue
        order = cycle(students, position, step.events)
        position += step.events
        items = target.events(f"{tag}-r{step.rate:g}", order)
        with phase(f"{target.name}: {step.rate:g} events/s for {step.seconds:g} s"):
            row = await _paced_step(target, settings, pub, reader, step, items, handled)
        rows.append(row)
        if row["saturated"]:
            skip_from = step.rate
    return rows


async def _paced_step(
    target: Target,
    settings: DriverSettings,
    pub: Publisher,
    reader: ResultReader,
    step: Step,
    items: list[Outgoing],
    handled: Callable[[], Awaitable[int]],
) -> dict[str, Any]:
    key = f"{step.rate:g}"
    meter = _meter(target)
    before = await handled()
    seconds = await publish(pub, reader, items, key, step.rate)
    got, _ = await wait_handled(handled, before + len(items), settings.drain_seconds, target.poll_s)
    done = got - before
    cpu = meter.report(max(done, 1))
    latencies = reader.latencies.pop(key, [])
    reader.forget()
    if isinstance(target, FloorTarget):
        missing = len(items) - len(latencies)
    else:  # only some events make a progress.updated: scale the unprocessed by that share
        share = len(latencies) / done if done else 1.0
        missing = round(max(0, len(items) - done) * share)
    return {
        "rate": step.rate,
        "cpu_step": step.cpu,
        "events": len(items),
        "seconds": round(seconds, 1),
        "achieved_rate": round(len(items) / seconds, 1) if seconds else None,
        "handled": done,
        "latency_ms": latency_summary(latencies, missing),
        "saturated": saturated(len(items), done, settings.saturated_share),
        "cpu": cpu,
        "app_and_daprd_cpu_ms_per_event": _app_and_daprd(cpu),
    }


def error_summary(exc: BaseException, limit: int = 200) -> str:
    """One line for the table: the first line of the error's text that says what went
    wrong (not app.sh's own "failed" header nor uvicorn's "ERROR:" lines), else the
    first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    telling = [
        line
        for line in lines
        if "error" in line.lower() and not line.startswith("ERROR:") and "app.sh" not in line
    ]
    return f"{type(exc).__name__}: {(telling or lines or [repr(exc)])[0]}"[:limit]


def _log_tail(name: str, lines: int = 25) -> str:
    path = STACK_DIR / "logs" / f"{name}.log"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {path})"


# ---------------------------------------------------------------- the matrix
def backing_up(started_file: Path) -> None:
    """Kafka, PostgreSQL, placement, scheduler (runtime/up.sh), with the bench
    instance's and the floor's databases."""
    for database in (replica_ports(1).database, FLOOR_PORTS.database):
        subprocess.run(
            [str(RUNTIME / "up.sh")],
            cwd=REPO,
            env={**os.environ, "STARTED_FILE": str(started_file), "PG_DATABASE": database},
            check=True,
            timeout=900,
        )


def backing_down(started_file: Path) -> None:
    started = [s for s in started_file.read_text().split() if s]
    if started:
        subprocess.run([str(RUNTIME / "down.sh"), *started], cwd=REPO, check=False)


def summarise(runs: list[dict[str, Any]], settings: DriverSettings) -> dict[str, Any]:
    """Per variant: median and range over the rounds of CPU per event (the CPU step),
    p50/p95 per rate, saturation; then ratios of the medians to ``http`` and
    ``service``."""
    out: dict[str, Any] = {}
    for name in settings.variants:
        mine = [r for r in runs if r["variant"] == name]
        ok = [r for r in mine if not r.get("error")]
        entry: dict[str, Any] = {
            "runs": len(mine),
            "errors": [r.get("error_summary") or r["error"][:200] for r in mine if r.get("error")],
        }
        cpu_steps = [next((s for s in r["steps"] if s.get("cpu_step")), None) for r in ok]
        for label in ("app", "daprd", "kafka", "postgres"):
            entry[f"cpu_{label}"] = spread(
                [
                    s["cpu"][label]["cpu_ms_per_event"]
                    if s and "cpu" in s and label in s["cpu"]
                    else None
                    for s in cpu_steps
                ]
            ).as_dict()
        entry["cpu_app_and_daprd"] = spread(
            [s.get("app_and_daprd_cpu_ms_per_event") if s else None for s in cpu_steps]
        ).as_dict()
        for rate in sorted({s.rate for s in settings.steps()}):
            rows = [
                next((s for s in r["steps"] if s["rate"] == rate and "latency_ms" in s), None)
                for r in ok
            ]
            for p in ("p50", "p95"):
                entry[f"{p}_at_{rate:g}"] = spread(
                    [row["latency_ms"][p] if row else None for row in rows]
                ).as_dict()
            entry[f"saturated_at_{rate:g}"] = [
                bool(row is None or row.get("saturated")) for row in rows
            ]
            entry[f"cpu_at_{rate:g}"] = spread(
                [row.get("app_and_daprd_cpu_ms_per_event") if row else None for row in rows]
            ).as_dict()
        entry["saturation"] = spread(
            [r["saturation"]["events_per_s"] if "saturation" in r else None for r in ok]
        ).as_dict()
        entry["saturation_cpu"] = spread(
            [
                r["saturation"].get("app_and_daprd_cpu_ms_per_event") if "saturation" in r else None
                for r in ok
            ]
        ).as_dict()
        for label in ("app", "daprd"):
            # the peak after the saturation burst: the largest heap the run needed
            entry[f"peak_rss_mb_{label}"] = spread([_peak_rss(r, label) for r in ok]).as_dict()
        out[name] = entry
    for reference in ("http", "service"):
        ref = out.get(reference)
        if ref is None:
            continue
        for entry in out.values():
            entry[f"ratio_to_{reference}"] = {
                key: ratio(entry[key]["median"], ref[key]["median"])
                for key in ("cpu_app_and_daprd", "cpu_app", "cpu_daprd", "saturation")
            }
    return out


def _peak_rss(run: dict[str, Any], label: str) -> float | None:
    """A process's peak resident memory (MB) at the end of a run's saturation burst;
    None for runs recorded before the meter read it."""
    cpu = run.get("saturation", {}).get("cpu", {})
    peak = cpu.get(label, {}).get("peak_rss_mb")
    return float(peak) if peak is not None else None


def _fmt(s: dict[str, Any], digits: int = 2) -> str:
    if s.get("median") is None:
        return "—"
    if s["low"] == s["high"]:
        return f"{s['median']:.{digits}f}"
    return f"{s['median']:.{digits}f} ({s['low']:.{digits}f}–{s['high']:.{digits}f})"


def _ratios(entry: dict[str, Any], key: str) -> str:
    """``× http / × service`` of one figure's medians."""
    out = [entry.get(f"ratio_to_{ref}", {}).get(key) for ref in ("http", "service")]
    return " / ".join("—" if r is None else f"{r:g}" for r in out)


def table(summary: dict[str, Any], settings: DriverSettings) -> str:
    """The Markdown table of docs/performance.md: medians over the rounds (range), and
    the medians' ratios to today's HTTP floor and to the service."""
    rates = sorted({s.rate for s in settings.steps()})
    head = ["variant", "app ms/event", "daprd ms/event", "app + daprd", "× http / × service"]
    head += [f"p50 / p95 at {r:g}/s (ms)" for r in rates]
    head += ["saturation (events/s)", "× http / × service"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, e in summary.items():
        if e["errors"] and not e["cpu_app_and_daprd"]["values"]:
            lines.append(f"| {name} | did not run: {e['errors'][0]} |")
            continue
        cells = [
            name,
            _fmt(e["cpu_app"]),
            _fmt(e["cpu_daprd"]),
            _fmt(e["cpu_app_and_daprd"]),
            _ratios(e, "cpu_app_and_daprd"),
        ]
        for r in rates:
            p50, p95 = e[f"p50_at_{r:g}"], e[f"p95_at_{r:g}"]
            if p95.get("median") is None and any(e[f"saturated_at_{r:g}"]):
                cells.append("saturated")
            else:
                cells.append(f"{_fmt(p50, 0)} / {_fmt(p95, 0)}")
        cells += [_fmt(e["saturation"], 0), _ratios(e, "saturation")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_table(summary: dict[str, Any], settings: DriverSettings) -> str:
    """App + daprd CPU ms per event at each rate and at saturation: medians (range)."""
    rates = sorted({s.rate for s in settings.steps()})
    head = ["variant", *(f"{r:g}/s" for r in rates), "saturation", "peak MB app / daprd"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, e in summary.items():
        if not e["cpu_app_and_daprd"]["values"]:
            continue
        peaks = [e.get(f"peak_rss_mb_{label}", {}) for label in ("app", "daprd")]
        cells = [name, *(_fmt(e[f"cpu_at_{r:g}"]) for r in rates), _fmt(e["saturation_cpu"])]
        cells.append(" / ".join(_fmt(p, 0) if p else "—" for p in peaks))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def resummarise(path: Path) -> tuple[dict[str, Any], DriverSettings]:
    """The summary of a results file again (after a change to the summary), written
    back into it."""
    document: dict[str, Any] = json.loads(path.read_text())
    kept = document["settings"]
    settings = DriverSettings(
        rates=tuple(kept["rates"]),
        step_seconds=kept["step_seconds"],
        cpu_rate=kept["cpu_rate"],
        cpu_seconds=kept["cpu_seconds"],
        variants=tuple(kept["variants"]),
    )
    document["summary"] = summarise(document["runs"], settings)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return document, settings


def results_path(now: datetime) -> Path:
    path = RESULTS / f"floor-{now:%Y-%m-%d}.json"
    if path.exists():
        path = RESULTS / f"floor-{now:%Y-%m-%d-%H%M}.json"
    return path


def service_checkout(commit: str) -> tuple[str, Path]:
    """(full hash, a git worktree of it) for the ``service`` variant (bench/ab.py's)."""
    full = subprocess.run(
        ["git", "rev-parse", "--verify", f"{commit}^{{commit}}"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return full, worktree(full)


async def main_async(settings: DriverSettings, out: Path) -> dict[str, Any]:
    bootstrap = f"127.0.0.1:{FLOOR_PORTS.kafka}"
    overlay = STACK_DIR / "floor" / "telemetry-off.yaml"
    overlay.parent.mkdir(parents=True, exist_ok=True)
    overlay.write_text(TELEMETRY_OFF_CONFIG)
    order = run_order(settings.variants, settings.rounds)
    commits: dict[str, str] = {}
    checkouts: dict[str, Path] = {}
    for name, wanted in (
        ("service", settings.service_commit),
        ("candidate", settings.candidate_commit),
    ):
        if name in settings.variants:
            commits[name], checkouts[name] = service_checkout(wanted)
    document: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "settings": {
            **{k: v for k, v in settings.__dict__.items() if k != "variants"},
            "variants": list(settings.variants),
            "steps": [s.__dict__ for s in settings.steps()],
        },
        "variants": {name: VARIANTS[name].what for name in settings.variants},
        "order": [f"{r}:{v}" for r, v in order],
        "service_commit": commits.get("service"),
        "candidate_commit": commits.get("candidate"),
        "runs": [],
    }
    estimate = len(order) * settings.seconds_per_run() / 60
    sys.stderr.write(f"{len(order)} runs, about {estimate:.0f} minutes; writing {out}\n")
    started = Path(tempfile.mkstemp(prefix="progress-floor-started-")[1])
    try:
        with phase("backing services"):
            await asyncio.to_thread(backing_up, started)
        await ensure_topics(bootstrap, [IN_TOPIC, OUT_TOPIC, DEADLETTER_TOPIC])
        for round_no, name in order:
            variant = VARIANTS[name]
            tag = f"fl{int(time.time())}"
            target: Target = (
                ServiceTarget(variant, tag, checkouts[name])
                if variant.service
                else FloorTarget(variant, overlay)
            )
            try:
                run = await one_run(target, settings, bootstrap, tag)
            except Exception as exc:  # recorded: a variant that cannot work here says why
                run = {
                    "variant": name,
                    "error_summary": error_summary(exc),
                    "error": f"{exc!r}\n{traceback.format_exc(limit=3)}\n"
                    f"--- app log\n{_log_tail(target.pid_names[0])}\n"
                    f"--- daprd log\n{_log_tail(target.pid_names[1])}",
                }
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(target.app_sh, "stop")
            finally:
                await target.aclose()
            run["round"] = round_no
            document["runs"].append(run)
            document["summary"] = summarise(document["runs"], settings)
            out.write_text(json.dumps(document, indent=2, default=str) + "\n")
    finally:
        await asyncio.to_thread(backing_down, started)
        started.unlink(missing_ok=True)
    return document


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bench.floor [options]`` runs the matrix; ``python -m bench.floor
    --summarise FILE`` only summarises a results file again and prints its tables."""
    stop_on_sigterm()
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--summarise"] and len(args) == 2:
        out = Path(args[1])
        document, settings = resummarise(out)
    else:
        settings = parse_args(args, list(VARIANTS), DEFAULT_VARIANTS)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = results_path(datetime.now())
        document = asyncio.run(main_async(settings, out))
    sys.stdout.write(table(document["summary"], settings) + "\n\n")
    sys.stdout.write(cpu_table(document["summary"], settings) + "\n")
    for run in document["runs"]:
        if run.get("error"):
            sys.stdout.write(f"\n{run['variant']} (round {run['round']}) failed:\n{run['error']}\n")
    sys.stdout.write(f"written {out}\n")
