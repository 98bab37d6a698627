"""The pure parts of the knowledge tracing fit job (service/knowledge_fit.py): answers
from logged events as the actors judge them, the held-out split, the report, and the
rule set a fit becomes."""

from __future__ import annotations

import json
import random
from typing import Any

from actors.config import DomainConfig
from actors.knowledge_tracing import DEFAULT_PARAMETER_SET, BktParameters, ParameterSet
from actors.mastery_fit import fit_topics, synthetic_cohort
from service.knowledge_fit import answers_by_topic, candidate_rules, held_out, report, split
from service.rulesets.model import RuleSetIn

AT = "2026-11-02T10:00:00Z"


def submitted(n: int, sid: str, topic: str, passed: bool) -> dict[str, Any]:
    data = {
        "event_id": f"e{n}",
        "student_id": sid,
        "occurred_at": AT,
        "topic_id": topic,
        "exercise_id": "ex1",
        "passed": passed,
        "score": 80 if passed else 20,
    }
    return {"type": "exercise.submitted", "data": json.dumps(data)}


def quiz(n: int, sid: str, topic: str, score: float) -> dict[str, Any]:
    data = {
        "event_id": f"q{n}",
        "student_id": sid,
        "occurred_at": AT,
        "topic_id": topic,
        "quiz_id": "q1",
        "score": score,
    }
    return {"type": "exercise.quiz_graded", "data": data}


def test_answers_follow_delivery_order_and_each_topics_pass_mark() -> None:
    config = DomainConfig(topic_rules={"strict": {"quiz_low_below": 70.0}})
    logged = {
        "s1": [
            submitted(1, "s1", "loops", False),
            quiz(2, "s1", "loops", 60),  # 60 >= 50: right in loops
            quiz(3, "s1", "strict", 60),  # 60 < 70: wrong in strict
            {"type": "code.executed", "data": {"not": "an answer"}},  # fails validation
            submitted(4, "s1", "loops", True),
        ]
    }
    assert answers_by_topic(logged, config) == {
        "loops": {"s1": [False, True, True]},
        "strict": {"s1": [False]},
    }


def test_the_split_holds_out_one_in_five_and_the_same_ones_every_time() -> None:
    ids = [f"student-{i}" for i in range(2000)]
    out = [sid for sid in ids if held_out(sid)]
    assert 300 < len(out) < 500
    assert out == [sid for sid in ids if held_out(sid)]
    answers = {"t": {sid: [True] for sid in ids}}
    fitting, holding = split(answers)
    assert len(fitting["t"]) + len(holding["t"]) == len(ids)
    assert len(holding["t"]) == len(out)


def test_a_fit_on_a_cohort_predicts_the_held_out_students_better_than_defaults() -> None:
    truth = BktParameters(prior=0.3, learn=0.2, guess=0.15, slip=0.08)
    rng = random.Random(24)
    cohort = synthetic_cohort(truth, 500, 15, rng)
    answers = {"loops": {f"s{i:03d}": seq for i, seq in enumerate(cohort)}}
    fitting, holding = split(answers)
    fitted = fit_topics(fitting, version="fit-test")
    (topic,) = report(fitted, DEFAULT_PARAMETER_SET, fitting, holding)
    assert topic.fitted and topic.students == len(fitting["loops"])
    assert topic.held_out_fitted is not None and topic.held_out_in_force is not None
    assert topic.held_out_fitted.log_loss < topic.held_out_in_force.log_loss
    assert abs(topic.parameters["learn"] - truth.learn) < 0.08


def test_a_topic_with_too_few_answers_is_reported_unfitted() -> None:
    answers = {"rare": {"s1": [True, False, True]}}
    fitting, holding = split(answers)
    fitted = fit_topics(fitting, version="fit-test")
    (topic,) = report(fitted, DEFAULT_PARAMETER_SET, fitting, holding)
    assert not topic.fitted
    assert topic.parameters == DEFAULT_PARAMETER_SET.default.to_dict()


def test_the_candidate_keeps_the_rules_in_force_and_carries_the_fit() -> None:
    active = RuleSetIn.model_validate(
        {"thresholds": {"stuck_minutes": 45.0}, "note": "the one in force"}
    )
    fitted = ParameterSet(
        "fit-20261206T230000Z",
        DEFAULT_PARAMETER_SET.default,
        {"loops": BktParameters(prior=0.3, learn=0.2, guess=0.15, slip=0.08)},
    )
    rules = candidate_rules(active, fitted, "fitted")
    assert rules.thresholds == active.thresholds
    assert rules.note == "fitted"
    assert rules.knowledge_tracing is not None
    assert rules.knowledge_tracing.version == "fit-20261206T230000Z"
    assert rules.knowledge_tracing.topics["loops"].parameters() == fitted.topics["loops"]
    assert candidate_rules(None, fitted, "n").thresholds == RuleSetIn().thresholds


def test_held_out_answers_all_of_one_kind_are_not_scored() -> None:
    """AUC needs right and wrong answers: a topic whose held-out students only ever
    answered right is reported without held-out figures instead of failing the job."""
    students = {f"s{i:03d}": [True, True] for i in range(60)}
    fitting, holding = split({"easy": students})
    assert holding["easy"]
    fitted = fit_topics(fitting, version="fit-test")
    (topic,) = report(fitted, DEFAULT_PARAMETER_SET, fitting, holding)
    assert topic.held_out_fitted is None and topic.held_out_in_force is None
