"""Knowledge tracing in the service (issue 24): the parameters as data (the curriculum's,
a rule set's over them), the probability in the actor's turn and the stored state, the
progress view and read model snapshot, and the wheel_spinning alert. The BKT core and its
fit have their own tests (test_knowledge_tracing.py, test_mastery_fit.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from actors.config import DomainConfig
from actors.knowledge_tracing import (
    DEFAULT_PARAMETER_SET,
    DEFAULT_PARAMETERS,
    BktParameters,
    InvalidParameters,
)
from service.settings import REPO_DIR, Settings, curriculum_parameters, domain_config

LOOPS = "python.loops"


# -- parameters as data ----------------------------------------------------------------


def test_without_a_curriculum_the_code_defaults_hold(tmp_path: Path) -> None:
    assert DomainConfig().knowledge_tracing is DEFAULT_PARAMETER_SET
    config = domain_config(Settings(curriculum_file=tmp_path / "absent.toml"))
    assert config.knowledge_tracing is DEFAULT_PARAMETER_SET
    assert curriculum_parameters({"default_exercise_target": 5}) is DEFAULT_PARAMETER_SET


def test_the_repositorys_curriculum_names_its_parameters() -> None:
    config = domain_config(Settings(curriculum_file=REPO_DIR / "config" / "curriculum.toml"))
    assert config.knowledge_tracing.version == "curriculum-1"
    assert config.knowledge_tracing.for_topic(LOOPS) == DEFAULT_PARAMETERS


def test_a_curriculum_gives_a_default_and_per_topic_parameters(tmp_path: Path) -> None:
    path = tmp_path / "curriculum.toml"
    path.write_text(
        "default_exercise_target = 5\n"
        "[knowledge_tracing]\n"
        'version = "term-2"\n'
        "default = { prior = 0.2, learn = 0.15, guess = 0.25, slip = 0.05 }\n"
        '[topics."python.loops"]\n'
        "exercise_target = 7\n"
        "knowledge_tracing = { prior = 0.4, learn = 0.3, guess = 0.1, slip = 0.1 }\n"
        '[topics."sql.joins"]\n'
        "knowledge_tracing = { prior = 0.05, learn = 0.05, guess = 0.3, slip = 0.2 }\n"
    )
    config = domain_config(Settings(curriculum_file=path))
    found = config.knowledge_tracing
    assert found.version == "term-2"
    assert found.default == BktParameters(prior=0.2, learn=0.15, guess=0.25, slip=0.05)
    assert found.for_topic(LOOPS) == BktParameters(prior=0.4, learn=0.3, guess=0.1, slip=0.1)
    assert found.for_topic("sql.joins").guess == 0.3
    assert found.for_topic("python.other") == found.default
    # a topic with parameters only keeps the default exercise target
    assert config.exercise_targets == {LOOPS: 7}


def test_per_topic_parameters_alone_take_the_code_defaults_elsewhere() -> None:
    curriculum = tomllib.loads(
        '[topics."python.loops"]\n'
        "knowledge_tracing = { prior = 0.4, learn = 0.3, guess = 0.1, slip = 0.1 }\n"
    )
    found = curriculum_parameters(curriculum)
    assert found.version == "curriculum"
    assert found.default == DEFAULT_PARAMETERS
    assert found.for_topic(LOOPS).prior == 0.4


@pytest.mark.parametrize(
    "spec",
    [
        "{ prior = 0.1, learn = 0.1, guess = 0.6, slip = 0.5 }",  # guess + slip >= 1
        "{ prior = 0, learn = 0.1, guess = 0.2, slip = 0.1 }",  # not inside (0, 1)
        "{ prior = 0.1, learn = 0.1, guess = 0.2 }",  # one missing
        "{ prior = 0.1, learn = 0.1, guess = 0.2, slip = 0.1, forget = 0.1 }",  # unknown
    ],
)
def test_a_curriculum_with_invalid_parameters_is_refused(tmp_path: Path, spec: str) -> None:
    path = tmp_path / "curriculum.toml"
    path.write_text(f"[knowledge_tracing]\ndefault = {spec}\n")
    with pytest.raises(InvalidParameters):
        domain_config(Settings(curriculum_file=path))
