"""Start and stop the real local stack for the integration tests.

The backing services (PostgreSQL, Kafka, placement, scheduler) are started by
runtime/up.sh when they are not running, and only the ones this session started are
stopped at the end. The test session runs its own service + daprd instance ("test")
on test ports, through runtime/app.sh, so tests can restart it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

INBOUND_TOPICS = ("learning.events", "exercise.events", "code.events")

REPO = Path(__file__).resolve().parents[2]
STUCK_SECONDS = 20.0
INACTIVITY_SECONDS = 45.0
RUNTIME = REPO / "runtime"


@dataclass(frozen=True)
class Ports:
    app: int = int(os.environ.get("TEST_APP_PORT", "18000"))
    dapr_http: int = int(os.environ.get("TEST_DAPR_HTTP_PORT", "13500"))
    dapr_grpc: int = int(os.environ.get("TEST_DAPR_GRPC_PORT", "15001"))
    dapr_metrics: int = int(os.environ.get("TEST_DAPR_METRICS_PORT", "19191"))
    dapr_internal: int = int(os.environ.get("TEST_DAPR_INTERNAL_GRPC_PORT", "15011"))
    kafka: int = int(os.environ.get("KAFKA_PORT", "19092"))
    postgres: int = int(os.environ.get("PG_PORT", "15432"))
    # The instance's own database and Dapr app id (also its namespace and consumer
    # group): a test or benchmark run never shares actors, reminders or rows with
    # `make run` (progress / progress-service) or with each other.
    database: str = "progress_test"
    app_id: str = "progress-test"

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app}"

    @property
    def dapr_url(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http}"

    @property
    def database_url(self) -> str:
        return f"postgresql://progress:progress-dev@127.0.0.1:{self.postgres}/{self.database}"


def _run(args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> None:
    result = subprocess.run(
        args,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}")


def stop_on_sigterm() -> None:
    """SIGTERM (a process manager, a CI timeout, `kill`) ends the run as Ctrl-C does, so
    the ``finally`` blocks and fixture teardowns stop what the run started. Python's
    default for SIGTERM is to die on the spot and leave everything running."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """One line when a long step starts and one when it ends (or fails), on stderr."""
    start = time.monotonic()
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {name} ...\n")
    sys.stderr.flush()
    outcome = "failed"
    try:
        yield
        outcome = "done"
    finally:
        elapsed = time.monotonic() - start
        sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {name}: {outcome} in {elapsed:.1f} s\n")
        sys.stderr.flush()


class ProgressBar:
    """A progress line on stderr for a step whose total is known, at most every
    ``every_s`` seconds: ``label [########------------] 8,000 / 20,000``."""

    def __init__(self, label: str, total: int, every_s: float = 5.0) -> None:
        self.label = label
        self.total = max(total, 1)
        self.every_s = every_s
        self._last = time.monotonic()

    def update(self, done: float) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s and done < self.total:
            return
        self._last = now
        filled = int(20 * min(done / self.total, 1.0))
        bar = "#" * filled + "-" * (20 - filled)
        sys.stderr.write(f"  {self.label} [{bar}] {int(done):,} / {self.total:,}\n")
        sys.stderr.flush()


def stack_secret(name: str) -> str:
    stack_dir = Path(os.environ.get("STACK_DIR", REPO / ".stack"))
    return (stack_dir / "secrets" / name).read_text().strip()


async def start_group_at_end(bootstrap: str, group: str) -> None:
    """The instance's consumer group starts at the end of the inbound topics.

    The intake components start a new group at the oldest offset (so `make run` loses
    nothing published before its first start). A test or benchmark instance only
    consumes what it publishes after it started: replaying what other instances (or its
    own earlier runs) published would flood it. Committing the current end offsets before
    its daprd starts skips that history without a race. Refused by Kafka while the group
    has live members (the instance is already running): then it keeps its position."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(INBOUND_TOPICS))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        for p in topic["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        if partitions:
            consumer.assign(partitions)
            try:
                await consumer.commit(await consumer.end_offsets(partitions))
            except KafkaError as exc:  # live members: the running instance keeps them
                sys.stderr.write(f"consumer group {group} keeps its offsets: {exc!r}\n")
    finally:
        await consumer.stop()


ACTOR_HOST_PORT_OFFSET = 50  # a split stack's actor host: the front end's ports + this


def shifted(ports: Ports, k: int) -> Ports:
    """``ports`` with the app's and daprd's ports moved by ``k`` (the rest kept): another
    app + daprd pair of the same instance."""
    return replace(
        ports,
        app=ports.app + k,
        dapr_http=ports.dapr_http + k,
        dapr_grpc=ports.dapr_grpc + k,
        dapr_metrics=ports.dapr_metrics + k,
        dapr_internal=ports.dapr_internal + k,
    )


def actor_host_ports(ports: Ports) -> Ports:
    """The ports of a split stack's actor host (the front end keeps ``ports``)."""
    return shifted(ports, ACTOR_HOST_PORT_OFFSET)


class Stack:
    """An instance of the service on ``ports``: one process (role ``all``), or with
    ``split`` the two roles (docs/operations.md, "Roles"): the front end (role ``api``)
    on ``ports`` as NAME, app id ``<app_id>-api``, and the actor host (role ``actors``)
    on ``actor_host_ports(ports)`` as NAME-actors with the app id ``app_id`` (so the
    actors' state keys and the consumer group stay the instance's). Both share the
    namespace ``app_id``: placement finds the actor host's actors for the front end's
    sidecar there."""

    def __init__(
        self,
        ports: Ports,
        name: str = "test",
        fast_timers: bool = True,
        extra_env: dict[str, str] | None = None,
        split: bool = False,
    ) -> None:
        self.ports = ports
        self.name = name
        self.fast_timers = fast_timers
        self.extra_env = extra_env or {}
        self.split = split
        self._started = Path(tempfile.mkstemp(prefix="progress-started-")[1])

    @property
    def actor_host_name(self) -> str:
        """The app + daprd pair that hosts the actors and the intake."""
        return f"{self.name}-actors" if self.split else self.name

    def _pairs(self) -> list[tuple[str, dict[str, str]]]:
        """(name, environment) of each app + daprd pair, the actor host first."""
        if not self.split:
            return [(self.name, self.app_env())]
        host = self._env(actor_host_ports(self.ports), "actors", self.ports.app_id)
        return [(self.actor_host_name, host), (self.name, self.front_end_env(self.ports))]

    def front_end_env(self, ports: Ports) -> dict[str, str]:
        """The environment of a front end (role api) of this instance on ``ports``."""
        return {
            **self._env(ports, "api", f"{self.ports.app_id}-api"),
            # the operators' views ask the actor host (service/host_report.py)
            "PROGRESS_ACTOR_HOST_APP_ID": self.ports.app_id,
            "WAIT_FOR_ACTORS": "0",  # it hosts none
        }

    @contextmanager
    def extra_front_end(self, offset: int, name: str) -> Iterator[Ports]:
        """One more front end replica (role api, its own daprd) on this instance's ports
        + ``offset``, until the block ends; beside the split or the one process."""
        ports = shifted(self.ports, offset)
        env = self.front_end_env(ports)
        try:
            _run([str(RUNTIME / "app.sh"), "start", name], env, timeout=300)
            yield ports
        finally:
            _run([str(RUNTIME / "app.sh"), "stop", name], env, timeout=300)

    def app_env(self) -> dict[str, str]:
        """The environment of the front end (or the one process)."""
        return self._env(self.ports, "api" if self.split else "all", self.ports.app_id)

    def _env(self, ports: Ports, role: str, app_id: str) -> dict[str, str]:
        return {
            "APP_PORT": str(ports.app),
            "DAPR_HTTP_PORT": str(ports.dapr_http),
            "DAPR_GRPC_PORT": str(ports.dapr_grpc),
            "DAPR_METRICS_PORT": str(ports.dapr_metrics),
            "DAPR_INTERNAL_GRPC_PORT": str(ports.dapr_internal),
            "PROGRESS_LOG_FORMAT": "json",
            "PROGRESS_ROLE": role,
            "PG_DATABASE": ports.database,
            "DAPR_APP_ID": app_id,
            "DAPR_NAMESPACE": ports.app_id,
            **(
                {  # short time-based rules so tests can watch reminders fire
                    "PROGRESS_STUCK_MINUTES": str(STUCK_SECONDS / 60),
                    "PROGRESS_INACTIVITY_DAYS": str(INACTIVITY_SECONDS / 86400),
                }
                if self.fast_timers
                else {}
            ),
            **self.extra_env,
        }

    def up(self) -> None:
        with phase(f"starting the stack and the {self.name} instance"):
            self._up()

    def _up(self) -> None:
        _run(
            [str(RUNTIME / "up.sh")],
            {"STARTED_FILE": str(self._started), "PG_DATABASE": self.ports.database},
        )
        # in a thread of its own: up() is also called from inside running event loops
        with ThreadPoolExecutor(1) as pool:
            bootstrap = f"127.0.0.1:{self.ports.kafka}"
            pool.submit(asyncio.run, start_group_at_end(bootstrap, self.ports.app_id)).result()
        self.app("start")

    def app(self, command: str) -> None:
        """runtime/app.sh COMMAND NAME (start, stop, restart, stop-app, ...) for every
        pair: the actor host first, except when stopping."""
        pairs = self._pairs()
        if command.startswith("stop"):
            pairs.reverse()
        for name, env in pairs:
            _run([str(RUNTIME / "app.sh"), command, name], env, timeout=300)

    def actor_host(self, command: str) -> None:
        """runtime/app.sh COMMAND for the pair that hosts the actors and the intake."""
        self._on_pair(0, command)

    def front_end(self, command: str) -> None:
        """runtime/app.sh COMMAND for the pair that serves the public API (the one
        process when not split)."""
        self._on_pair(-1, command)

    def _on_pair(self, index: int, command: str) -> None:
        name, env = self._pairs()[index]
        _run([str(RUNTIME / "app.sh"), command, name], env, timeout=300)

    def down(self) -> None:
        try:
            self.app("stop")
        finally:
            started = [s for s in self._started.read_text().split() if s]
            if started:
                _run([str(RUNTIME / "down.sh"), *started])
            self._started.unlink(missing_ok=True)
