"""verify.py against the local stack: passes when all is well, fails loudly when not."""

import os
import subprocess
import sys

from service.dev_token import mint
from tests.integration.stack import REPO, Ports, stack_secret


def verify(ports: Ports, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VERIFY_URL": ports.app_url,
        "VERIFY_DAPR_URL": ports.dapr_url,
        "VERIFY_TOKEN": mint("admin", "verify-test"),
        "VERIFY_DAPR_TOKEN": stack_secret("dapr_api_token"),
        "VERIFY_DATABASE_URL": ports.database_url,
        **overrides,
    }
    return subprocess.run(
        [sys.executable, str(REPO / "verify.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_passes_on_a_healthy_stack(ports: Ports) -> None:
    result = verify(ports)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == [
        "PASS  health",
        "PASS  postgres migrated",
        "PASS  end-to-end event",
    ]


def test_verify_fails_with_a_readable_line(ports: Ports) -> None:
    result = verify(
        ports,
        VERIFY_TOKEN=mint("teacher", "not-admin"),
        VERIFY_DATABASE_URL="postgresql://progress:wrong@127.0.0.1:1/progress",
    )
    assert result.returncode == 1
    assert "FAIL  postgres migrated" in result.stdout
    assert "FAIL  end-to-end event" in result.stdout  # erasure needs an admin token
