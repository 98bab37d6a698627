"""`make run` stops what it started on Ctrl-C and on SIGTERM to its process group, every
time (runtime/run.sh). Its own name, ports, app id and database, so it runs beside the
test instance and a developer's `make run`. The backing services are up already (the
session's stack), so what this `make run` starts, and must stop, is its app and daprd."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.stack import REPO, Stack, start_group_at_end
from tests.integration.support import eventually

NAME = "runtest"
APP_ID = "progress-runtest"
PORTS = {
    "APP_PORT": "18600",
    "DAPR_HTTP_PORT": "13600",
    "DAPR_GRPC_PORT": "15601",
    "DAPR_METRICS_PORT": "19601",
    "DAPR_INTERNAL_GRPC_PORT": "15611",
}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGTERM])
async def test_make_run_stops_what_it_started(stack: Stack, sig: signal.Signals) -> None:
    run_dir = Path(os.environ.get("STACK_DIR", REPO / ".stack")) / "run"
    env = {
        **os.environ,
        **PORTS,
        "RUN_NAME": NAME,
        "DAPR_APP_ID": APP_ID,
        "PG_DATABASE": "progress_runtest",
    }
    # like the test instance, it consumes only what is published after it started
    await start_group_at_end(f"127.0.0.1:{stack.ports.kafka}", APP_ID)
    proc = subprocess.Popen(
        ["make", "run"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as a terminal gives it
        # A terminal delivers Ctrl-C; a test run started in the background inherits
        # SIGINT ignored, and a shell cannot trap a signal ignored when it started.
        preexec_fn=_default_sigint,
    )
    try:

        async def healthy() -> bool:
            try:
                async with httpx.AsyncClient(timeout=2) as c:
                    r = await c.get(f"http://127.0.0.1:{PORTS['APP_PORT']}/health")
                return r.status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(healthy, timeout=180, interval=0.5)  # make run answered /health
        pids = {
            part: int((run_dir / f"{NAME}-{part}.pid").read_text().strip())
            for part in ("app", "daprd")
        }
        assert all(_alive(pid) for pid in pids.values())

        os.killpg(proc.pid, sig)  # the whole group, as Ctrl-C or a process manager does

        async def all_gone() -> bool:
            return not any(_alive(pid) for pid in pids.values())

        await eventually(all_gone, timeout=90, interval=0.5)  # app and daprd stopped
        assert not (run_dir / f"{NAME}-app.pid").exists()
        assert not (run_dir / f"{NAME}-daprd.pid").exists()
        proc.wait(timeout=30)  # and make itself ends
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # whatever a failed round left (app and daprd run in sessions of their own)
        subprocess.run(
            [str(REPO / "runtime" / "app.sh"), "stop", NAME], env=env, check=True, timeout=60
        )
