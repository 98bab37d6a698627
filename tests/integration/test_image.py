"""The image `make image` builds, tested, not only built (docs/image.md).

The archive is built by runtime/image/build.sh, or reused when its inputs are unchanged.
Its contents and config are read from the archive itself. Then, with podman (runc, host
network, read-only root file system without /tmp, user 10001, no capabilities), beside
the local PostgreSQL, Kafka and Dapr control plane:
- the chart's migrations job command (`alembic upgrade head`) migrates a fresh database,
  twice (every `helm upgrade` runs it again);
- the image's own command (the chart's) serves in both roles, as the chart runs it: an
  actor host (PROGRESS_ROLE=actors) and a front end (PROGRESS_ROLE=api), each beside its
  own daprd, and the image's `verify.py` passes against the two.

The image instance has its own app id (progress-image: namespace, consumer group) and
database (progress_image), so it runs beside the session's test instance without sharing
actors, reminders, offsets or rows. A build or run failure fails the test (never a skip).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from service.dev_token import mint
from tests.integration.stack import (
    REPO,
    RUNTIME,
    Ports,
    phase,
    shifted,
    stack_secret,
    start_group_at_end,
)

ARCHIVE = REPO / "build" / "progress-service-image.tar"
RUN = RUNTIME / "image" / "run.sh"
# runtime/image/run.sh's defaults: the image's command listens on 8000 (the chart's
# port). The actor host (PROGRESS_ROLE=actors) runs there, as the app id progress-image;
# the front end (PROGRESS_ROLE=api) beside it on the same host network, as
# progress-image-api in the same Dapr namespace — the two roles of the chart, one image.
IMAGE = Ports(
    app=8000,
    dapr_http=13700,
    dapr_grpc=15701,
    dapr_metrics=19701,
    dapr_internal=15711,
    database="progress_image",
    app_id="progress-image",
)
IMAGE_FRONT_END = replace(shifted(IMAGE, 50), app_id="progress-image-api")


def _instance_env(ports: Ports, role: str) -> dict[str, str]:
    """run.sh's settings for one role's instance, given explicitly: `make test` runs
    pytest with runtime/lib.sh's defaults exported (DAPR_HTTP_PORT=3500, ...), which
    run.sh would keep."""
    return {
        "DAPR_APP_ID": ports.app_id,
        "DAPR_NAMESPACE": IMAGE.app_id,
        "PG_DATABASE": ports.database,
        "APP_PORT": str(ports.app),
        "DAPR_HTTP_PORT": str(ports.dapr_http),
        "DAPR_GRPC_PORT": str(ports.dapr_grpc),
        "DAPR_METRICS_PORT": str(ports.dapr_metrics),
        "DAPR_INTERNAL_GRPC_PORT": str(ports.dapr_internal),
        "PROGRESS_ROLE": role,
    }


IMAGE_ENV = _instance_env(IMAGE, "actors")
FRONT_END_ENV = {
    **_instance_env(IMAGE_FRONT_END, "api"),
    "PROGRESS_ACTOR_HOST_APP_ID": IMAGE.app_id,
    "WAIT_FOR_ACTORS": "0",  # it hosts none
}
CHART_COMMAND = [
    "uvicorn",
    *("service.main:app", "--host", "0.0.0.0", "--port", "8000"),
    *("--timeout-keep-alive", "620"),
]
# Nothing of the build may reach the image: build tools, installers and their caches,
# the build host's CA bundle copy, apt's lists and sources.
FORBIDDEN = re.compile(
    r"^(tmp/.+|root/\.cache.*|opt/venv/bin/(pip[0-9.]*|uvx?)|usr/bin/(gcc|cc|g\+\+|make|pip3?|uvx?)"
    r"|var/lib/apt/lists/[^/]+_.*|etc/apt/sources\.list.*\.(list|sources)|etc/apt/sources\.list"
    r"|app/(\.git|\.venv|\.stack|tests|build)(/.*)?|.*\.whl)$"
)


def _sh(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run a script of the repository; fails with its output when it exits non-zero."""
    result = subprocess.run(
        args,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


@dataclass(frozen=True)
class Archive:
    config: dict[str, Any]  # the image config's "config" (User, Cmd, Env, Labels, ...)
    members: dict[str, tarfile.TarInfo]  # the layer's entries, without the leading "./"


def read_archive(path: Path) -> Archive:
    """The image config and the file list of an oci-archive with one image."""
    with tarfile.open(path) as outer:

        def member(name: str) -> IO[bytes]:
            file = outer.extractfile(name)
            assert file is not None, f"{name} missing from {path}"
            return file

        def blob(digest: str) -> IO[bytes]:
            return member(f"blobs/sha256/{digest.removeprefix('sha256:')}")

        index = json.load(member("index.json"))
        assert len(index["manifests"]) == 1, index
        manifest = json.load(blob(index["manifests"][0]["digest"]))
        config = json.load(blob(manifest["config"]["digest"]))
        members: dict[str, tarfile.TarInfo] = {}
        for layer in manifest["layers"]:
            assert layer["mediaType"].endswith("tar+gzip"), layer  # compressed layers
            with tarfile.open(fileobj=gzip.GzipFile(fileobj=blob(layer["digest"]))) as fs:
                for info in fs:
                    members[info.name.removeprefix("./")] = info
    return Archive(config["config"], members)


@pytest.fixture(scope="module")
def archive() -> Path:
    """make image: builds the archive, or reuses it when its inputs are unchanged."""
    with phase("make image (runtime/image/build.sh)"):
        out = _sh([str(RUNTIME / "image" / "build.sh")], timeout=1800).stdout
    assert "push: skopeo copy oci-archive:build/progress-service-image.tar docker://" in out
    assert ARCHIVE.stat().st_size > 10_000_000
    return ARCHIVE


@pytest.fixture(scope="module")
def contents(archive: Path) -> Archive:
    with phase("reading the archive"):
        return read_archive(archive)


@pytest.fixture(scope="module")
def backing_services() -> Iterator[None]:
    """PostgreSQL, Kafka, placement and scheduler (runtime/up.sh); the ones this module
    started are stopped at its end (in `make test` the session's stack has them up)."""
    started = Path(tempfile.mkstemp(prefix="progress-started-")[1])
    try:
        with phase("starting the backing services for the image"):
            _sh(
                [str(RUNTIME / "up.sh")],
                {"STARTED_FILE": str(started), "PG_DATABASE": IMAGE.database},
                timeout=900,
            )
        yield
    finally:
        names = started.read_text().split()
        if names:
            _sh([str(RUNTIME / "down.sh"), *names])
        started.unlink(missing_ok=True)


async def _fresh_database(ports: Ports) -> None:
    """The image's database, empty: its migrations job starts from nothing."""
    conn = await asyncpg.connect(ports.database_url.rsplit("/", 1)[0] + "/postgres")
    try:
        await conn.execute(f'drop database if exists "{ports.database}" with (force)')
        await conn.execute(f'create database "{ports.database}"')
    finally:
        await conn.close()


async def _migrated_to(ports: Ports) -> str | None:
    conn = await asyncpg.connect(ports.database_url)
    try:
        version: str | None = await conn.fetchval("select version_num from alembic_version")
        return version
    finally:
        await conn.close()


@dataclass(frozen=True)
class Migrations:
    first: str  # output of `alembic upgrade head` on the empty database
    again: str  # and of a second run (a `helm upgrade` with no new migration)
    version: str | None  # alembic_version afterwards


@pytest.fixture(scope="module")
def migrations(archive: Path, backing_services: None) -> Migrations:
    asyncio.run(_fresh_database(IMAGE))
    env = IMAGE_ENV
    with phase("the chart's migrations job from the image"):
        # alembic logs to stderr
        first = _sh([str(RUN), "migrate"], env, timeout=300).stderr
        again = _sh([str(RUN), "migrate"], env, timeout=300).stderr
    return Migrations(first, again, asyncio.run(_migrated_to(IMAGE)))


@dataclass(frozen=True)
class Roles:
    front_end: Ports
    actor_host: Ports


@pytest.fixture(scope="module")
def image_instance(migrations: Migrations) -> Iterator[Roles]:
    """The image's own command in both roles, each beside its daprd, until the module
    ends: the actor host first (it owns the consumer group), then the front end."""
    asyncio.run(start_group_at_end(f"127.0.0.1:{IMAGE.kafka}", IMAGE.app_id))
    try:
        with phase("starting the image as the actor host beside its daprd"):
            _sh([str(RUN), "start", "image"], IMAGE_ENV, timeout=300)
        with phase("starting the image as the front end beside its daprd"):
            _sh([str(RUN), "start", "image-api"], FRONT_END_ENV, timeout=300)
        yield Roles(IMAGE_FRONT_END, IMAGE)
    finally:
        try:
            _sh([str(RUN), "stop", "image-api"], FRONT_END_ENV, timeout=120)
        finally:
            _sh([str(RUN), "stop", "image"], IMAGE_ENV, timeout=120)


def test_image_config_runs_the_chart_command_as_non_root(contents: Archive) -> None:
    config = contents.config
    assert config["User"] == "10001:10001"
    assert config["Cmd"] == CHART_COMMAND
    assert not config.get("Entrypoint")  # the chart's `command` and the job's replace it
    assert config["WorkingDir"] == "/app"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PATH"].startswith("/opt/venv/bin:")  # uvicorn, alembic, python
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    labels = config["Labels"]
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert labels["org.opencontainers.image.version"] == version
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", labels["org.opencontainers.image.revision"])
    assert labels["org.opencontainers.image.source"]


def test_image_holds_the_app_and_nothing_of_the_build(contents: Archive) -> None:
    members = contents.members
    for path in (
        "app/service/main.py",
        "app/actors/student_actor.py",
        "app/config/curriculum.toml",
        "app/migrations/env.py",
        "app/alembic.ini",
        "app/verify.py",
        "app/service/frontend/console/templates/base.html",
        "app/service/frontend/console/static/console.css",
        "app/service/frontend/console/static/vendor/uPlot.iife.min.js",
        "opt/venv/bin/uvicorn",
        "opt/venv/bin/alembic",
        "usr/share/progress-service/debian-packages.txt",
        "usr/share/progress-service/requirements.runtime.lock",
    ):
        assert path in members, f"{path} is missing from the image"
    forbidden = sorted(name for name in members if FORBIDDEN.match(name))
    assert not forbidden, f"left over from the build: {forbidden[:20]}"
    # dev tools of the lock stay out (the image installs its runtime part only)
    site = "opt/venv/lib/python3.11/site-packages/"
    for tool in ("pytest", "ruff", "mypy", "matplotlib", "schemathesis", "playwright"):
        assert f"{site}{tool}" not in members, f"{tool} is in the image"
    # the root file system is read-only at run time: the app's bytecode is compiled in
    sources = [n for n in members if n.startswith(("app/service/", "app/actors/"))]
    missing = [
        n
        for n in sources
        if n.endswith(".py")
        and f"{n.rsplit('/', 1)[0]}/__pycache__/{n.rsplit('/', 1)[1][:-3]}.cpython-311.pyc"
        not in members
    ]
    assert sources and not missing, f"not compiled: {missing[:10]}"
    # nothing in the app is writable by the service user
    writable = [n for n, i in members.items() if n.startswith("app/") and i.mode & 0o022]
    assert not writable, writable[:10]


def test_migrations_job_command_migrates_from_the_image(migrations: Migrations) -> None:
    script = ScriptDirectory.from_config(Config(str(REPO / "alembic.ini")))
    assert migrations.version == script.get_current_head()
    assert "Running upgrade  ->" in migrations.first  # from the empty database
    assert "Running upgrade" not in migrations.again  # already at head: nothing to do


def test_image_serves_both_roles_and_verify_passes(image_instance: Roles) -> None:
    front, host = image_instance.front_end, image_instance.actor_host
    env = {
        **FRONT_END_ENV,
        "VERIFY_URL": front.app_url,
        "VERIFY_HOST_URL": host.app_url,
        "VERIFY_DAPR_URL": host.dapr_url,
        "VERIFY_TOKEN": mint("admin", "verify-image"),
        "VERIFY_DAPR_TOKEN": stack_secret("dapr_api_token"),
        "VERIFY_DATABASE_URL": front.database_url,
    }
    with phase("verify.py from the image against the image's two roles"):
        out = _sh([str(RUN), "exec", "python", "verify.py"], env, timeout=300).stdout
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == [
        "PASS  health",
        "PASS  actor host health",
        "PASS  postgres migrated",
        "PASS  end-to-end event",
    ], out
    assert not [line for line in lines if line.startswith("FAIL")], out
    # the console's templates and static files came with the app
    teacher = {"Authorization": f"Bearer {mint('teacher', 'image-teacher')}"}
    with httpx.Client(base_url=front.app_url, timeout=10) as http:
        assert http.get("/console/", headers=teacher).status_code == 200
        chart = http.get("/console/static/vendor/uPlot.iife.min.js")
        assert chart.status_code == 200 and "uPlot" in chart.text
    # each role is what it says: the actor host serves no public route, the front end
    # hosts no actor type (its daprd registers none)
    dapr = {"dapr-api-token": stack_secret("dapr_api_token")}
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{host.app_url}/console/", headers=teacher).status_code == 404
        front_meta = http.get(f"{front.dapr_url}/v1.0/metadata", headers=dapr).json()
        host_meta = http.get(f"{host.dapr_url}/v1.0/metadata", headers=dapr).json()
    assert not front_meta.get("actors"), front_meta.get("actors")
    assert {a["type"] for a in host_meta["actors"]} >= {"StudentProgressActor"}
