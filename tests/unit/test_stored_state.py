"""Stored student state across versions: the state today's code wrote before batching
(captured from the real actor state store, tests/fixtures/student-state-v1.json) loads,
reads the same, and carries on; unknown future versions are refused."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from actors.progress_view import progress_view
from actors.rules import apply_events
from actors.stored_state import (
    SCHEMA_VERSION,
    UnknownSchemaVersion,
    decode_state,
    encode_state,
)
from service.settings import Settings, domain_config
from tests.unit.factories import quiz

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CONFIG = domain_config(Settings())  # the curriculum the fixture was captured with


def stored_v1() -> str:
    """The value column of the row (jsonb holding the state as one JSON string)."""
    value = json.loads((FIXTURES / "student-state-v1.json").read_text())
    assert isinstance(value, str) and "schema_version" not in value
    return value


def test_version_1_state_loads_and_reads_as_it_did() -> None:
    state = decode_state(stored_v1())
    assert state.schema_version == SCHEMA_VERSION
    want = json.loads((FIXTURES / "student-state-v1.progress.json").read_text())
    want.pop("open_struggles")  # from the alert table, not the state
    for topic in want["topics"]:  # no knowledge tracing before version 5: none yet
        topic.update(mastery_probability=None, knowledge_level=None)
    assert progress_view(state, CONFIG) == want


def test_version_1_state_carries_on() -> None:
    state = decode_state(stored_v1())
    later = state.last_activity + timedelta(hours=1)  # type: ignore[operator]
    new, turn = apply_events(
        state,
        [
            quiz(10, event_id="f4", at=later, student="fixture-v1"),
            quiz(90, event_id="after-upgrade", at=later, student="fixture-v1"),
        ],
        CONFIG,
    )
    assert [o.duplicate for o in turn.outcomes] == [True, False]  # f4 was applied by v1
    assert new.events_applied == state.events_applied + 1
    assert decode_state(encode_state(new)) == new


def test_state_from_a_newer_version_is_refused() -> None:
    doc = json.loads(stored_v1())
    with pytest.raises(UnknownSchemaVersion, match="schema_version 99"):
        decode_state(json.dumps({**doc, "schema_version": 99}))


def test_the_first_stored_form_an_object_not_text_still_loads() -> None:
    assert decode_state(json.loads(stored_v1())).student_id == "fixture-v1"
