"""Session-wide hooks."""

import pytest

from tests.integration.stack import stop_on_sigterm


def pytest_configure(config: pytest.Config) -> None:
    # SIGTERM to `make test` tears the session down as Ctrl-C does: the stack fixture
    # stops what it started.
    stop_on_sigterm()
