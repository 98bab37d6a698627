"""Bayesian Knowledge Tracing: the update against values worked out by hand, its
monotonicity, learners against spinners, which events are observations, validation and
the stored form of a parameter set (actors/knowledge_tracing.py)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.knowledge_tracing import (
    DEFAULT_PARAMETERS,
    LIKELY,
    MASTERED,
    MASTERED_AT,
    UNCERTAIN,
    UNLIKELY,
    BktParameters,
    InvalidParameters,
    ParameterSet,
    knowledge_level,
    observation,
    p_correct,
    posterior,
    trace,
    update,
)
from actors.mastery_fit import synthetic_cohort
from tests.unit.factories import event, message, quiz, reviewed, run, started, submitted

OTHER = BktParameters(prior=0.3, learn=0.2, guess=0.25, slip=0.15)


# -- the update, by hand --------------------------------------------------------------


def test_correct_answer_from_the_default_prior() -> None:
    # posterior 0.1*0.9 / (0.1*0.9 + 0.9*0.2) = 0.09 / 0.27 = 1/3;
    # then learning: 1/3 + 2/3 * 0.1 = 0.4
    assert posterior(0.1, True, DEFAULT_PARAMETERS) == pytest.approx(1 / 3)
    assert update(0.1, True, DEFAULT_PARAMETERS) == pytest.approx(0.4)


def test_incorrect_answer_from_the_default_prior() -> None:
    # posterior 0.1*0.1 / (0.1*0.1 + 0.9*0.8) = 0.01 / 0.73 = 1/73;
    # then learning: (0.01 + 0.72*0.1) / 0.73 = 8.2/73
    assert posterior(0.1, False, DEFAULT_PARAMETERS) == pytest.approx(1 / 73)
    assert update(0.1, False, DEFAULT_PARAMETERS) == pytest.approx(8.2 / 73)


def test_update_with_other_parameters() -> None:
    # correct: known 0.3*0.85 = 0.255, not known 0.7*0.25 = 0.175;
    #   (0.255 + 0.175*0.2) / 0.43 = 0.29/0.43 = 29/43
    # incorrect: known 0.3*0.15 = 0.045, not known 0.7*0.75 = 0.525;
    #   (0.045 + 0.525*0.2) / 0.57 = 0.15/0.57 = 5/19
    assert update(0.3, True, OTHER) == pytest.approx(29 / 43)
    assert update(0.3, False, OTHER) == pytest.approx(5 / 19)


def test_probability_of_a_correct_answer() -> None:
    assert p_correct(0.1, DEFAULT_PARAMETERS) == pytest.approx(0.1 * 0.9 + 0.9 * 0.2)
    assert p_correct(0.0, OTHER) == pytest.approx(OTHER.guess)
    assert p_correct(1.0, OTHER) == pytest.approx(1 - OTHER.slip)


def test_trace_starts_from_the_prior() -> None:
    assert trace([], DEFAULT_PARAMETERS) == []
    assert trace([True, True, True, True], DEFAULT_PARAMETERS) == pytest.approx(
        [0.4, 0.775, 0.9454545, 0.9886076], abs=1e-6
    )


def test_update_refuses_a_probability_outside_0_1() -> None:
    with pytest.raises(ValueError, match="within"):
        update(1.2, True, DEFAULT_PARAMETERS)
    with pytest.raises(ValueError, match="within"):
        update(float("nan"), True, DEFAULT_PARAMETERS)


# -- properties -----------------------------------------------------------------------

unit = st.floats(min_value=0.001, max_value=0.999, allow_nan=False)


@st.composite
def parameters(draw: st.DrawFn) -> BktParameters:
    guess = draw(st.floats(min_value=0.001, max_value=0.95))
    slip = draw(st.floats(min_value=0.001, max_value=0.998 - guess))
    return BktParameters(prior=draw(unit), learn=draw(unit), guess=guess, slip=slip)


@settings(max_examples=300, deadline=None)
@given(params=parameters(), p=st.floats(min_value=0.0, max_value=1.0))
def test_a_correct_answer_never_lowers_p_known(params: BktParameters, p: float) -> None:
    after = update(p, True, params)
    assert after >= p - 1e-12
    assert 0.0 <= after <= 1.0
    assert update(p, False, params) <= after + 1e-12  # right never reads worse than wrong


@settings(max_examples=300, deadline=None)
@given(params=parameters(), p=st.floats(min_value=0.0, max_value=1.0))
def test_a_wrong_answer_lowers_the_posterior(params: BktParameters, p: float) -> None:
    # before the learning transition; after it the result may end above p
    assert posterior(p, False, params) <= p + 1e-12


# -- learners and spinners ------------------------------------------------------------


def test_a_learner_rises_past_mastery() -> None:
    answers = [False, False, True, False, True, True, True, True]
    probabilities = trace(answers, DEFAULT_PARAMETERS)
    assert probabilities[-1] >= MASTERED_AT
    assert knowledge_level(probabilities[-1]) == MASTERED
    assert max(probabilities[:-2]) < MASTERED_AT  # not before the streak of right answers


def test_a_spinner_answering_every_other_one_right_never_reaches_mastery() -> None:
    probabilities = trace([i % 2 == 0 for i in range(60)], DEFAULT_PARAMETERS)
    assert max(probabilities) < 0.7  # 0.686: it settles into a cycle well below


def test_spinners_at_the_guess_rate_almost_never_reach_mastery() -> None:
    """Students who never learn and answer right at the guess rate (20 %) touch 0.95
    within 10 attempts in about 5 % of cases (bench.knowledge_tracing: 4.6 %): lucky
    answers. Beck & Gong's wheel-spinning (10 attempts, no mastery) is about them."""
    rng = random.Random(24)
    spinners = [[rng.random() < 0.2 for _ in range(10)] for _ in range(2000)]
    reached = sum(max(trace(s, DEFAULT_PARAMETERS)) >= MASTERED_AT for s in spinners)
    assert reached / len(spinners) < 0.08


def test_random_half_right_spinners_end_mastered_less_often_than_learners() -> None:
    """BKT reads 3-4 right answers in a row as mastery, so a student answering at random,
    half right, touches 0.95 within 20 attempts in ~80 % of cases (bench.knowledge_tracing,
    10,000 simulated: 80.4 %; within 10: 49 %) and ends there in ~38 % (learners drawn
    from the default parameters: 83 %). What separates them is where they end, not
    whether they touched 0.95 once."""
    rng = random.Random(7)
    spinners = [[rng.random() < 0.5 for _ in range(20)] for _ in range(2000)]
    learners = synthetic_cohort(DEFAULT_PARAMETERS, 2000, 20, rng)

    def share_ending_mastered(cohort: list[list[bool]]) -> float:
        return sum(trace(s, DEFAULT_PARAMETERS)[-1] >= MASTERED_AT for s in cohort) / len(cohort)

    assert share_ending_mastered(spinners) < 0.45
    assert share_ending_mastered(learners) > 0.75


# -- levels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "level"),
    [
        (0.0, UNLIKELY),
        (0.1, UNLIKELY),
        (0.4999, UNLIKELY),
        (0.5, UNCERTAIN),
        (0.7999, UNCERTAIN),
        (0.8, LIKELY),
        (0.9499, LIKELY),
        (0.95, MASTERED),
        (1.0, MASTERED),
    ],
)
def test_level_boundaries(p: float, level: str) -> None:
    assert knowledge_level(p) == level


def test_every_topic_starts_unlikely() -> None:
    assert knowledge_level(DEFAULT_PARAMETERS.prior) == UNLIKELY


# -- observations ---------------------------------------------------------------------


def test_submissions_are_observations() -> None:
    assert observation(submitted("ex1", passed=True)) is True
    assert observation(submitted("ex1", passed=False)) is False


def test_quizzes_at_or_above_the_pass_mark_are_correct() -> None:
    assert observation(quiz(50)) is True
    assert observation(quiz(100)) is True
    assert observation(quiz(49.9)) is False
    assert observation(quiz(0)) is False
    assert observation(quiz(60), quiz_pass_mark=70) is False
    assert observation(quiz(70), quiz_pass_mark=70) is True


@pytest.mark.parametrize(
    "make",
    [
        lambda: started("ex1"),
        lambda: run(fail=True),
        lambda: run(fail=False),
        lambda: reviewed(80),
        lambda: message("I'm stuck"),
        lambda: event("learning.lesson_started", lesson_id="l1"),
        lambda: event("learning.lesson_completed", lesson_id="l1"),
    ],
)
def test_other_events_are_not_observations(make: Any) -> None:
    assert observation(make()) is None


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message_part"),
    [
        ({"prior": 0.0}, "prior must be strictly between 0 and 1"),
        ({"learn": 1.0}, "learn must be strictly between 0 and 1"),
        ({"guess": -0.1}, "guess must be strictly between 0 and 1"),
        ({"slip": float("nan")}, "slip must be strictly between 0 and 1"),
        ({"guess": 0.6, "slip": 0.4}, "guess + slip must be below 1"),
        ({"guess": 0.7, "slip": 0.5}, "guess + slip must be below 1"),
        ({"prior": True}, "prior must be a number"),
        ({"learn": "0.1"}, "learn must be a number"),
    ],
)
def test_invalid_parameters_are_refused(fields: dict[str, Any], message_part: str) -> None:
    values: dict[str, Any] = {**DEFAULT_PARAMETERS.to_dict(), **fields}
    with pytest.raises(InvalidParameters, match=message_part.replace("+", r"\+")):
        BktParameters(**values)


def test_parameters_are_immutable() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_PARAMETERS.prior = 0.5  # type: ignore[misc]


# -- the stored form ------------------------------------------------------------------


def test_parameter_set_round_trip_through_json() -> None:
    original = ParameterSet(
        version="fit-2026-12-07-1",
        default=DEFAULT_PARAMETERS,
        topics={"python.loops": OTHER, "python.functions": BktParameters(0.2, 0.05, 0.1, 0.2)},
    )
    stored = json.dumps(original.to_dict())
    again = ParameterSet.from_dict(json.loads(stored))
    assert again == original
    assert again.for_topic("python.loops") == OTHER
    assert again.for_topic("python.classes") == DEFAULT_PARAMETERS
    assert list(original.to_dict()["topics"]) == ["python.functions", "python.loops"]


def test_parameter_set_defaults_and_immutability() -> None:
    minimal = ParameterSet.from_dict({"version": "v0"})
    assert minimal.default == DEFAULT_PARAMETERS and dict(minimal.topics) == {}
    topics: dict[str, BktParameters] = {"a": OTHER}
    built = ParameterSet(version="v1", topics=topics)
    topics["b"] = OTHER  # the caller's dict is copied
    assert "b" not in built.topics
    with pytest.raises(TypeError):
        built.topics["c"] = OTHER  # type: ignore[index]


@pytest.mark.parametrize(
    ("data", "message_part"),
    [
        ({}, "version required"),
        ({"version": ""}, "version must be"),
        ({"version": "x" * 201}, "version must be"),
        ({"version": "a\x00b"}, "version must be"),
        ({"version": 3}, "version must be"),
        ({"version": "v", "extra": 1}, "unknown \\['extra'\\]"),
        ({"version": "v", "topics": []}, "topics must be an object"),
        ({"version": "v", "topics": {"t": [0.1, 0.1, 0.2, 0.1]}}, "parameters must be an object"),
        (
            {"version": "v", "default": {"prior": 0.1, "learn": 0.1, "guess": 0.2}},
            "missing \\['slip'\\]",
        ),
        (
            {"version": "v", "default": {**DEFAULT_PARAMETERS.to_dict(), "slipp": 0.1}},
            "unknown \\['slipp'\\]",
        ),
        (
            {"version": "v", "topics": {"t": {**DEFAULT_PARAMETERS.to_dict(), "guess": 0.95}}},
            "guess \\+ slip must be below 1",
        ),
        ({"version": "v", "topics": {"": DEFAULT_PARAMETERS.to_dict()}}, "non-empty"),
    ],
)
def test_invalid_stored_forms_are_refused(data: dict[str, Any], message_part: str) -> None:
    with pytest.raises(InvalidParameters, match=message_part):
        ParameterSet.from_dict(data)
