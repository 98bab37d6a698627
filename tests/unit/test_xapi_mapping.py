"""The xAPI mapping (service/frontend/xapi/mapping.py) with the repository's own mapping file."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from actors.events import parse_event
from service.frontend.xapi.mapping import (
    Ignored,
    Mapped,
    MappingError,
    StatementRefused,
    load_mapping,
    map_statement,
    parse_mapping,
    ref,
)
from service.settings import REPO_DIR

MAPPING = load_mapping(REPO_DIR / "config" / "xapi-mapping.toml")
STORED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
VERB = "http://adlnet.gov/expapi/verbs/"
TYPE = "http://adlnet.gov/expapi/activities/"
COURSE = "https://lms.school.example/course/python-loops"


def statement(verb: str, activity_type: str | None = "question", **parts: Any) -> dict[str, Any]:
    definition = {"type": TYPE + activity_type} if activity_type else {}
    body: dict[str, Any] = {
        "id": "8f1a2b3c-0000-4000-8000-000000000001",
        "actor": {"objectType": "Agent", "account": {"homePage": "https://lms", "name": "stu-1"}},
        "verb": {"id": VERB + verb},
        "object": {"id": "https://lms.school.example/q/7", "definition": definition},
        "context": {"contextActivities": {"parent": [{"id": COURSE}]}},
        "timestamp": "2026-11-25T10:00:00+00:00",
    }
    body.update(parts)
    return body


def mapped(s: dict[str, Any]) -> Mapped:
    out = map_statement(s, MAPPING, STORED)
    assert isinstance(out, Mapped), out
    parse_event(out.type, out.data)  # what the intake will accept
    return out


def test_answered_with_success_and_scaled_score() -> None:
    out = mapped(statement("answered", result={"success": False, "score": {"scaled": 0.35}}))
    assert out.type == "exercise.submitted"
    assert out.data == {
        "event_id": "8f1a2b3c-0000-4000-8000-000000000001",
        "student_id": "stu-1",
        "occurred_at": "2026-11-25T10:00:00+00:00",
        "topic_id": "python.loops",
        "exercise_id": "https://lms.school.example/q/7",
        "passed": False,
        "score": 35.0,
    }


def test_answered_right_or_wrong_only_is_all_or_nothing() -> None:
    assert mapped(statement("answered", result={"success": True})).data["score"] == 100.0
    assert mapped(statement("answered", result={"success": False})).data["score"] == 0.0


def test_raw_score_within_min_max_and_a_score_alone() -> None:
    out = mapped(statement("answered", result={"score": {"raw": 7, "min": 0, "max": 10}}))
    assert (out.data["score"], out.data["passed"]) == (70.0, True)


def test_graded_assessment_is_a_quiz_and_needs_a_score() -> None:
    s = statement("passed", "assessment", result={"success": True, "score": {"scaled": 0.9}})
    out = mapped(s)
    assert (out.type, out.data["quiz_id"], out.data["score"]) == (
        "exercise.quiz_graded",
        "https://lms.school.example/q/7",
        90.0,
    )
    no_score = map_statement(statement("completed", "assessment"), MAPPING, STORED)
    assert isinstance(no_score, Ignored) and "score" in no_score.reason


def test_passed_question_without_result_takes_the_verbs_success() -> None:
    out = mapped(statement("failed", "cmi.interaction"))
    assert (out.type, out.data["passed"], out.data["score"]) == ("exercise.submitted", False, 0.0)


def test_lessons_and_messages() -> None:
    assert mapped(statement("launched", "lesson")).type == "learning.lesson_started"
    done = mapped(statement("completed", "module"))
    assert (done.type, done.data["lesson_id"]) == (
        "learning.lesson_completed",
        ref(done.data["lesson_id"]),
    )
    asked = mapped(statement("asked", None, result={"response": "why does my loop never end?"}))
    assert (asked.type, asked.data["text"]) == ("learning.message", "why does my loop never end?")


def test_uncovered_statements_are_ignored_with_a_reason() -> None:
    for s, words in [
        (statement("experienced", "lesson"), "no rule for verb"),
        (statement("asked", None), "result has no response"),
        (statement("answered", object={"objectType": "StatementRef", "id": "x"}), "StatementRef"),
        (statement("answered", context={}, result={"success": True}), "no topic"),
    ]:
        out = map_statement(s, MAPPING, STORED)
        assert isinstance(out, Ignored) and words in out.reason, out


def test_topic_sources_in_order() -> None:
    ext = statement("answered", result={"success": True})
    ext["context"]["extensions"] = {"urn:progress-service:topic": "python.recursion"}
    assert mapped(ext).data["topic_id"] == "python.recursion"
    grouping = statement(
        "answered",
        result={"success": True},
        context={"contextActivities": {"grouping": {"id": COURSE}}},
    )
    assert mapped(grouping).data["topic_id"] == "python.loops"
    fallback = parse_mapping(
        {
            "topic": {"unlisted": "parent-id"},
            "rule": [{"verbs": [VERB + "answered"], "event": "exercise.submitted"}],
        }
    )
    s = statement(
        "answered",
        result={"success": True},
        context={"contextActivities": {"parent": [{"id": "https://lms/unlisted"}]}},
    )
    out = map_statement(s, fallback, STORED)
    assert isinstance(out, Mapped) and out.data["topic_id"] == "https://lms/unlisted"


def test_actor_rules() -> None:
    by_mail = statement(
        "answered", result={"success": True}, actor={"mbox": "mailto:ada@school.example"}
    )
    digest = hashlib.sha1(b"mailto:ada@school.example").hexdigest()
    by_digest = statement("answered", result={"success": True}, actor={"mbox_sha1sum": digest})
    assert (
        mapped(by_mail).data["student_id"]
        == mapped(by_digest).data["student_id"]
        == f"mbox-sha1:{digest}"
    )
    local = parse_mapping(
        {
            "actor": {"mbox": "local-part"},
            "rule": [{"verbs": [VERB + "answered"], "event": "exercise.submitted"}],
            "topic": {"activities": {COURSE: "t"}},
        }
    )
    out = map_statement(by_mail, local, STORED)
    assert isinstance(out, Mapped) and out.data["student_id"] == "ada"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"actor": {"openid": "https://id.example/ada"}}, "actor"),
        (
            {"actor": {"account": {"homePage": "h", "name": "bad id with spaces"}}},
            "actor.account.name",
        ),
        ({"result": {"score": {"scaled": 1.5}}}, "result.score.scaled"),
        ({"result": {"score": {"raw": 11, "min": 0, "max": 10}}}, "result.score.raw"),
        ({"result": {"score": {"raw": 1, "min": 5, "max": 5}}}, "result.score.max"),
    ],
)
def test_refused_with_the_field(change: dict[str, Any], field: str) -> None:
    s = copy.deepcopy(statement("answered", result={"success": True}))
    s.update(change)
    with pytest.raises(StatementRefused) as info:
        map_statement(s, MAPPING, STORED)
    assert info.value.field == field


def test_home_pages_restrict_accounts() -> None:
    only = parse_mapping(
        {
            "actor": {"account_home_pages": ["https://moodle.school"]},
            "rule": [{"verbs": [VERB + "answered"], "event": "exercise.submitted"}],
        }
    )
    with pytest.raises(StatementRefused) as info:
        map_statement(statement("answered", result={"success": True}), only, STORED)
    assert info.value.field == "actor.account.homePage"


def test_long_iris_become_stable_digests() -> None:
    long_iri = "https://lms/" + "x" * 200
    assert ref(long_iri) == ref(long_iri) and len(ref(long_iri)) <= 128 and ref("short") == "short"


def test_timestamp_missing_takes_the_time_received() -> None:
    s = statement("answered", result={"success": True})
    del s["timestamp"]
    assert mapped(s).data["occurred_at"] == STORED.isoformat()


@pytest.mark.parametrize(
    "raw",
    [
        {"rule": [{"verbs": ["v"], "event": "nope"}]},
        {"rule": [{"verbs": ["v"], "event": "code.executed"}]},
        {"rule": [{"verbs": [], "event": "exercise.started"}]},
        {"actor": {"mbox": "plain"}},
        {"topic": {"sources": ["somewhere"]}},
        {"topic": {"activities": {"iri": ""}}},
    ],
)
def test_a_wrong_mapping_file_is_named(raw: dict[str, Any]) -> None:
    with pytest.raises(MappingError):
        parse_mapping(raw)
