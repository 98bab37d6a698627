"""Settings from the environment: the intake lanes' name, and the start-up report of
variables that set nothing (unknown PROGRESS_* names, the renamed INTAKE_LANES)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from service.main import create_app
from service.settings import REPO_DIR, Settings
from service.settings_check import (
    Finding,
    report,
    setting_names,
    unknown_settings,
)


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))


def test_the_intake_lanes_are_progress_intake_lanes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROGRESS_INTAKE_LANES", "5")
    monkeypatch.setenv("INTAKE_LANES", "7")
    assert Settings().intake_lanes == 5
    monkeypatch.delenv("PROGRESS_INTAKE_LANES")
    assert Settings().intake_lanes == 3  # the old name sets nothing...


def test_the_old_intake_lanes_name_is_reported_with_the_new_one() -> None:
    log = Recorder()  # ...and start-up says so
    found = report({"INTAKE_LANES": "7"}, log)
    assert found == [Finding("INTAKE_LANES", "PROGRESS_INTAKE_LANES")]
    [(event, fields)] = log.lines
    assert (event, fields["name"], fields["use"]) == (
        "renamed_setting",
        "INTAKE_LANES",
        "PROGRESS_INTAKE_LANES",
    )
    assert "set PROGRESS_INTAKE_LANES instead" in fields["detail"]


@pytest.mark.parametrize(
    ("variable", "closest"),
    [
        ("PROGRESS_INTAKE_LANE", "PROGRESS_INTAKE_LANES"),
        ("PROGRESS_QUIZ_LOW_BELLOW", "PROGRESS_QUIZ_LOW_BELOW"),
        ("PROGRESS_JWT_SECRETS", "PROGRESS_JWT_SECRET"),
        ("progress_databse_url", "PROGRESS_DATABASE_URL"),
        ("PROGRESS_DAPR_HTTP_PORT", "DAPR_HTTP_PORT"),  # Dapr's own name, no prefix
        ("PROGRESS_APP_API_TOKEN", "APP_API_TOKEN"),
        ("PROGRESS_ZZZZZZZZZZZZZZZZ", None),
    ],
)
def test_an_unknown_progress_variable_is_reported_with_the_closest_name(
    variable: str, closest: str | None
) -> None:
    log = Recorder()
    assert report({variable: "1", "HOME": "/root"}, log) == [Finding(variable, closest)]
    [(event, fields)] = log.lines
    assert (event, fields["name"], fields["closest"]) == ("unknown_setting", variable, closest)


def test_every_setting_and_the_scripts_variables_are_known() -> None:
    names = setting_names()
    environ = dict.fromkeys(names, "x") | {"PROGRESS_CACHE": "/tmp", "progress_log_level": "x"}
    assert unknown_settings(environ) == []
    assert {"DAPR_HTTP_PORT", "DAPR_API_TOKEN", "APP_API_TOKEN"} <= set(names)
    assert "PROGRESS_INTAKE_LANES" in names and "INTAKE_LANES" not in names
    prefixed = [n for n in names if n.startswith("PROGRESS_")]
    assert len(prefixed) == len(names) - 3  # all but Dapr's three


def test_the_app_reports_unknown_settings_when_it_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROGRESS_STUCK_MINUTE", "5")
    create_app(Settings(log_format="json"))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    reported = [
        (line["closest"], line["level"])
        for line in lines
        if line.get("event") == "unknown_setting" and line["name"] == "PROGRESS_STUCK_MINUTE"
    ]
    assert reported == [("PROGRESS_STUCK_MINUTES", "warning")]


def test_docs_settings_lists_every_variable_and_no_other() -> None:
    text = (REPO_DIR / "docs" / "settings.md").read_text()
    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", text, flags=re.M))
    assert rows == set(setting_names())


def test_the_state_ttl_must_be_positive() -> None:
    """0 would make the hourly read-model drop remove every student's rows."""
    with pytest.raises(ValidationError, match="actor_state_ttl_s"):
        Settings(actor_state_ttl_s=0)
