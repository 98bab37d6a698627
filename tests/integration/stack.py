"""Start and stop the real local stack for the integration tests.

The backing services (PostgreSQL, Kafka, placement, scheduler) are started by
runtime/up.sh when they are not running, and only the ones this session started are
stopped at the end. The test session runs its own service + daprd instance ("test")
on test ports, through runtime/app.sh, so tests can restart it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

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

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app}"

    @property
    def dapr_url(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http}"

    @property
    def database_url(self) -> str:
        return f"postgresql://progress:progress-dev@127.0.0.1:{self.postgres}/progress"


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


def stack_secret(name: str) -> str:
    stack_dir = Path(os.environ.get("STACK_DIR", REPO / ".stack"))
    return (stack_dir / "secrets" / name).read_text().strip()


class Stack:
    def __init__(
        self,
        ports: Ports,
        name: str = "test",
        fast_timers: bool = True,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.ports = ports
        self.name = name
        self.fast_timers = fast_timers
        self.extra_env = extra_env or {}
        self._started = Path(tempfile.mkstemp(prefix="progress-started-")[1])

    def app_env(self) -> dict[str, str]:
        return {
            "APP_PORT": str(self.ports.app),
            "DAPR_HTTP_PORT": str(self.ports.dapr_http),
            "DAPR_GRPC_PORT": str(self.ports.dapr_grpc),
            "DAPR_METRICS_PORT": str(self.ports.dapr_metrics),
            "DAPR_INTERNAL_GRPC_PORT": str(self.ports.dapr_internal),
            "PROGRESS_LOG_FORMAT": "json",
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
        _run([str(RUNTIME / "up.sh")], {"STARTED_FILE": str(self._started)})
        self.app("start")

    def app(self, command: str) -> None:
        """runtime/app.sh COMMAND test (start, stop, restart, stop-app, ...)."""
        _run([str(RUNTIME / "app.sh"), command, self.name], self.app_env(), timeout=300)

    def down(self) -> None:
        try:
            self.app("stop")
        finally:
            started = [s for s in self._started.read_text().split() if s]
            if started:
                _run([str(RUNTIME / "down.sh"), *started])
            self._started.unlink(missing_ok=True)
