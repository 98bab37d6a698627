"""Checking statements (service/frontend/xapi/validation.py): Ralph's models, the checks they
leave to us, ids, and what counts as "the same statement" for a re-sent id."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from service.frontend.xapi.validation import (
    BadStatement,
    check,
    check_batch,
    fingerprint,
    version_ok,
)

GOOD: dict[str, Any] = {
    "id": "8F1A2B3C-0000-4000-8000-000000000001",
    "actor": {"objectType": "Agent", "account": {"homePage": "https://lms", "name": "stu-1"}},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
    "object": {
        "id": "https://lms/q/1",
        "definition": {"type": "http://adlnet.gov/expapi/activities/question"},
    },
    "result": {"success": True, "score": {"raw": 0, "min": 0, "max": 10}},
    "timestamp": "2026-11-25T10:00:00Z",
}


def test_versions() -> None:
    assert all(version_ok(v) for v in ("1.0", "1.0.0", "1.0.3", " 1.0.3 "))
    assert not any(version_ok(v) for v in (None, "", "0.95", "1.1.0", "2.0.0", "1.0.x"))


def test_a_valid_statement_gets_a_canonical_id_and_keeps_its_own_form() -> None:
    statement = check(copy.deepcopy(GOOD), 0)
    assert statement["id"] == GOOD["id"].lower()
    assert statement["result"] == GOOD["result"]  # the producer's object, not Ralph's dump
    without = {k: v for k, v in GOOD.items() if k != "id"}
    assert uuid.UUID(check(without, 0)["id"]).version == 4  # assigned, as an LRS does


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"verb": {"id": "answered"}}, "verb.id"),
        ({"result": {"success": "true"}}, "result.success"),
        ({"result": {"score": {"scaled": 2}}}, "result.score.scaled"),
        # Ralph skips its raw/min/max check when one of them is 0: ours does not
        ({"result": {"score": {"raw": -5, "min": 0, "max": 10}}}, "result.score.raw"),
        ({"actor": {"mbox": "not-an-address"}}, "actor.mbox"),
        ({"id": "not-a-uuid"}, "id"),
        ({"unknown": 1}, "unknown"),
        ({"result": None}, "result"),
    ],
)
def test_invalid_statements_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(BadStatement) as info:
        check({**copy.deepcopy(GOOD), **change}, 3)
    assert (info.value.index, info.value.field) == (3, field), info.value


def test_what_ralph_trips_on_is_a_bad_statement_too() -> None:
    for raw in ([1], "text", {"context": {}, "actor": GOOD["actor"], "verb": GOOD["verb"]}):
        with pytest.raises(BadStatement):
            check(raw, 0)


def test_same_statement_ignores_what_an_lrs_may_set_and_definitions() -> None:
    a = check(copy.deepcopy(GOOD), 0)
    b = copy.deepcopy(a)
    b["timestamp"] = "2026-11-26T00:00:00Z"
    b["stored"] = "2026-11-26T00:00:00Z"
    b["verb"]["display"] = {"fr-FR": "a répondu"}
    b["object"]["definition"] = {"name": {"en-US": "Question 1"}}
    assert fingerprint(a) == fingerprint(b)
    b["result"] = {"success": False}
    assert fingerprint(a) != fingerprint(b)


def test_a_batch_refuses_an_id_sent_twice() -> None:
    other = {**copy.deepcopy(GOOD), "id": str(uuid.uuid4())}
    assert [c.id for c in check_batch([GOOD, other])] == [GOOD["id"].lower(), other["id"]]
    with pytest.raises(BadStatement) as info:
        check_batch([GOOD, other, {**GOOD, "id": GOOD["id"].lower()}])
    assert info.value.index == 2 and "also statement 0" in info.value.reason
