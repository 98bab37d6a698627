"""`make run` stops what it started on Ctrl-C and on SIGTERM to its process group, every
time (runtime/run.sh). Its own name, ports, app id and database, so it runs beside the
test instance and a developer's `make run`. The backing services are up already (the
session's stack), so what this `make run` starts, and must stop, is its app and daprd."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from service.dev_token import mint
from tests.integration.stack import REPO, Stack, stack_secret, start_group_at_end
from tests.integration.support import Student, applied, eventually

NAME = "runtest"
APP_ID = "progress-runtest"
PORTS = {
    "APP_PORT": "18600",
    "DAPR_HTTP_PORT": "13600",
    "DAPR_GRPC_PORT": "15601",
    "DAPR_METRICS_PORT": "19601",
    "DAPR_INTERNAL_GRPC_PORT": "15611",
}


async def _an_event_crosses_the_roles() -> None:
    """Published through the front end's daprd, applied by an actor of the actor host
    (port + 50), read back through the front end."""
    student = f"runtest-{uuid.uuid4().hex[:8]}"
    dapr_url = f"http://127.0.0.1:{PORTS['DAPR_HTTP_PORT']}"
    app_url = f"http://127.0.0.1:{PORTS['APP_PORT']}"
    host_url = f"http://127.0.0.1:{int(PORTS['APP_PORT']) + 50}"
    async with (
        httpx.AsyncClient(
            base_url=dapr_url, headers={"dapr-api-token": stack_secret("dapr_api_token")}
        ) as dapr,
        httpx.AsyncClient(
            base_url=app_url, headers={"Authorization": f"Bearer {mint('admin', 'runtest')}"}
        ) as api,
        httpx.AsyncClient(base_url=host_url) as host,
    ):
        assert (await host.get("/health")).status_code == 200
        assert (await host.get("/progress/x")).status_code == 404  # no public route there
        await Student(dapr, student).send(
            "exercise.submitted", exercise_id="ex1", passed=True, score=90
        )
        assert (await applied(api, student, 1))["events_applied"] == 1


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    ("sig", "roles"),
    [
        (signal.SIGINT, "all"),
        (signal.SIGTERM, "all"),
        (signal.SIGINT, "all"),
        (signal.SIGTERM, "all"),
        (signal.SIGINT, "split"),
        (signal.SIGTERM, "split"),
    ],
)
async def test_make_run_stops_what_it_started(
    stack: Stack, sig: signal.Signals, roles: str
) -> None:
    """With ROLES=split, make run starts the front end and the actor host, each beside
    its daprd; an event published through the front end's daprd reaches the actor host's
    actors (GET /progress on the front end); and all four processes stop."""
    run_dir = Path(os.environ.get("STACK_DIR", REPO / ".stack")) / "run"
    env = {
        **os.environ,
        **PORTS,
        "RUN_NAME": NAME,
        "DAPR_APP_ID": APP_ID,
        "PG_DATABASE": "progress_runtest",
        "ROLES": roles,
    }
    names = [NAME, f"{NAME}-actors"] if roles == "split" else [NAME]
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
            f"{name}-{part}": int((run_dir / f"{name}-{part}.pid").read_text().strip())
            for name in names
            for part in ("app", "daprd")
        }
        assert all(_alive(pid) for pid in pids.values())
        if roles == "split":
            await _an_event_crosses_the_roles()

        os.killpg(proc.pid, sig)  # the whole group, as Ctrl-C or a process manager does

        async def all_gone() -> bool:
            return not any(_alive(pid) for pid in pids.values())

        await eventually(all_gone, timeout=90, interval=0.5)  # apps and daprds stopped
        assert not [name for name in pids if (run_dir / f"{name}.pid").exists()]
        proc.wait(timeout=30)  # and make itself ends
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # whatever a failed round left (app and daprd run in sessions of their own)
        for name in names:
            subprocess.run(
                [str(REPO / "runtime" / "app.sh"), "stop", name], env=env, check=True, timeout=60
            )
