"""The knowledge-tracing fit (actors/mastery_fit.py): the forward pass against brute force,
EM's monotonicity, recovery of a synthetic cohort's known parameters, held-out AUC and
log-loss, the bounds, and the pure helpers (AUC by rank, log-loss, sequences from events).

The recovery bounds are what 200 seeded cohorts of 400 students x 20 answers showed,
with margin (docs/decisions/020-knowledge-tracing-fitted-here.md gives the spread)."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.events import LearningEvent, parse_event
from actors.knowledge_tracing import DEFAULT_PARAMETERS, BktParameters
from actors.mastery_fit import (
    GUESS_MAX,
    SLIP_MAX,
    FitResult,
    _clamp,
    _e_step,
    _groups,
    auc,
    evaluate,
    fit,
    fit_each_topic,
    fit_topics,
    log_loss,
    observation_sequences,
    synthetic_cohort,
)

TRUE = BktParameters(prior=0.3, learn=0.15, guess=0.2, slip=0.1)
FAST = BktParameters(prior=0.5, learn=0.3, guess=0.1, slip=0.05)
# |fitted - true| for 400 students x 20 answers. Largest over 200 seeded cohorts:
# TRUE prior 0.094, learn 0.022, guess 0.042, slip 0.013 (95th percentile 0.051, 0.018,
# 0.023, 0.009); FAST prior 0.093, learn 0.060, guess 0.045, slip 0.007. The prior is the
# loosest: only the first answers tell it.
BOUNDS = {"prior": 0.12, "learn": 0.04, "guess": 0.06, "slip": 0.03}
BOUNDS_FAST = {"prior": 0.12, "learn": 0.08, "guess": 0.06, "slip": 0.02}


def brute_force_log_likelihood(params: BktParameters, answers: Sequence[bool]) -> float:
    """Sum over every path of hidden states: the definition the forward pass computes."""
    total = 0.0
    for states in itertools.product((False, True), repeat=len(answers)):
        p = params.prior if states[0] else 1 - params.prior
        for before, after in itertools.pairwise(states):
            if before:
                p *= 1.0 if after else 0.0  # no forgetting
            else:
                p *= params.learn if after else 1 - params.learn
        for known, correct in zip(states, answers, strict=True):
            right = 1 - params.slip if known else params.guess
            p *= right if correct else 1 - right
        total += p
    return math.log(total)


def as_tuple(p: BktParameters) -> tuple[float, float, float, float]:
    return (p.prior, p.learn, p.guess, p.slip)


# -- the E-step -----------------------------------------------------------------------


def test_forward_pass_equals_the_sum_over_hidden_paths() -> None:
    sequences = [[True], [False, True, True], [False, False, True, False, True, True, True]]
    for params in (TRUE, FAST, DEFAULT_PARAMETERS):
        _, ll = _e_step(as_tuple(params), _groups(sequences))
        expected = sum(brute_force_log_likelihood(params, s) for s in sequences)
        assert ll == pytest.approx(expected, rel=1e-12)


def test_identical_sequences_count_by_weight() -> None:
    once = _e_step(as_tuple(TRUE), _groups([[True, False, True]]))
    thrice = _e_step(as_tuple(TRUE), _groups([[True, False, True]] * 3 + [[]]))
    assert thrice[1] == pytest.approx(3 * once[1])
    assert thrice[0] == pytest.approx(once[0])


def test_em_never_lowers_the_likelihood() -> None:
    cohort = synthetic_cohort(TRUE, 200, 15, random.Random(3))
    groups = _groups(cohort)
    params = (0.6, 0.02, 0.29, 0.29)  # far from the truth, at the bounds' edge
    previous = -math.inf
    for _ in range(30):
        estimates, ll = _e_step(params, groups)
        assert ll >= previous - 1e-9
        previous = ll
        params = _clamp(estimates, GUESS_MAX, SLIP_MAX)


# -- recovery and held-out accuracy ---------------------------------------------------


def errors(result: FitResult, true: BktParameters) -> dict[str, float]:
    fitted = result.parameters.to_dict()
    return {k: abs(fitted[k] - v) for k, v in true.to_dict().items()}


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_fit_recovers_known_parameters(seed: int) -> None:
    train = synthetic_cohort(TRUE, 400, 20, random.Random(seed))
    result = fit(train, rng=random.Random(seed))
    assert result.converged
    assert result.observations == 8000 and result.students == 400
    for name, error in errors(result, TRUE).items():
        assert error <= BOUNDS[name], (name, result.parameters)


def test_fit_recovers_a_fast_learning_topic() -> None:
    result = fit(synthetic_cohort(FAST, 400, 20, random.Random(11)), rng=random.Random(11))
    for name, error in errors(result, FAST).items():
        assert error <= BOUNDS_FAST[name], (name, result.parameters)


def test_held_out_auc_and_log_loss() -> None:
    rng = random.Random(24)
    train = synthetic_cohort(TRUE, 400, 20, rng)
    held_out = synthetic_cohort(TRUE, 200, 20, rng)
    fitted = evaluate(fit(train, rng=random.Random(24)).parameters, held_out)
    default = evaluate(DEFAULT_PARAMETERS, held_out)
    truth = evaluate(TRUE, held_out)
    assert fitted.predictions == 4000
    assert fitted.auc >= 0.74  # 0.750-0.825 over 200 seeded cohorts of TRUE
    assert fitted.log_loss < default.log_loss
    assert fitted.log_loss - truth.log_loss < 0.005  # as good as knowing the truth, nearly


def test_fit_is_deterministic_for_a_seed() -> None:
    train = synthetic_cohort(TRUE, 100, 10, random.Random(5))
    assert fit(train, rng=random.Random(9)) == fit(train, rng=random.Random(9))


def test_guess_and_slip_stay_within_bounds_on_answers_without_learning() -> None:
    """Answers at random, half right, are best explained by guess = slip = 0.5 (knowing
    changes nothing): the bounds keep the fit a usable model instead."""
    rng = random.Random(2)
    noise = [[rng.random() < 0.5 for _ in range(20)] for _ in range(300)]
    result = fit(noise, rng=random.Random(2))
    assert result.parameters.guess <= GUESS_MAX
    assert result.parameters.slip <= SLIP_MAX
    assert result.parameters.guess + result.parameters.slip < 1


def test_fit_refuses_nothing_to_fit_and_bad_bounds() -> None:
    with pytest.raises(ValueError, match="no answers"):
        fit([[], []])
    with pytest.raises(ValueError, match="bounds"):
        fit([[True]], guess_max=0.6, slip_max=0.5)
    with pytest.raises(ValueError, match="at least 1"):
        fit([[True]], restarts=0)


def test_iteration_cap() -> None:
    train = synthetic_cohort(TRUE, 100, 10, random.Random(6))
    result = fit(train, max_iterations=2, tolerance=0.0)
    assert result.iterations == 2 and not result.converged


# -- per topic ------------------------------------------------------------------------


def test_fit_topics_fits_topics_with_enough_data() -> None:
    rng = random.Random(8)
    data = {
        "python.loops": synthetic_cohort(TRUE, 200, 10, rng),
        "python.functions": synthetic_cohort(FAST, 200, 10, rng),
        "python.classes": synthetic_cohort(TRUE, 20, 10, rng),  # 200 answers: too few
    }
    fitted = fit_topics(data, version="fit-1")
    assert fitted.version == "fit-1"
    assert set(fitted.topics) == {"python.loops", "python.functions"}
    assert fitted.for_topic("python.classes") == DEFAULT_PARAMETERS
    assert fitted.for_topic("python.functions").learn > fitted.for_topic("python.loops").learn
    # each topic has its own random source: a topic added does not change another's fit
    alone = fit_each_topic({"python.loops": data["python.loops"]})
    assert alone["python.loops"].parameters == fitted.for_topic("python.loops")


# -- helpers --------------------------------------------------------------------------


def test_auc_by_rank() -> None:
    assert auc([False, False, True, True], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auc([True, True, False, False], [0.1, 0.2, 0.3, 0.4]) == 0.0
    assert auc([True, False, True, False], [0.5, 0.5, 0.5, 0.5]) == 0.5
    # pairs (positive, negative): (0.4, 0.1) win, (0.4, 0.4) tie, (0.2, 0.1) win,
    # (0.2, 0.4) loss: (1 + 0.5 + 1 + 0) / 4
    assert auc([True, False, True, False], [0.4, 0.1, 0.2, 0.4]) == 0.625


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.9])),
        min_size=2,
        max_size=40,
    ).filter(lambda xs: any(y for y, _ in xs) and not all(y for y, _ in xs))
)
def test_auc_equals_the_share_of_pairs_ordered_right(pairs: list[tuple[bool, float]]) -> None:
    positives = [s for y, s in pairs if y]
    negatives = [s for y, s in pairs if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    expected = wins / (len(positives) * len(negatives))
    assert auc([y for y, _ in pairs], [s for _, s in pairs]) == pytest.approx(expected)


def test_auc_needs_both_labels() -> None:
    with pytest.raises(ValueError, match="positive and one negative"):
        auc([True, True], [0.2, 0.3])


def test_log_loss() -> None:
    assert log_loss([True, False], [0.8, 0.25]) == pytest.approx(
        -(math.log(0.8) + math.log(0.75)) / 2
    )
    assert math.isfinite(log_loss([True], [0.0]))  # clipped, not infinite
    with pytest.raises(ValueError):
        log_loss([], [])


def test_synthetic_cohort_draws_from_the_model() -> None:
    cohort = synthetic_cohort(TRUE, 5000, 3, random.Random(1))
    assert len(cohort) == 5000 and all(len(s) == 3 for s in cohort)
    first_right = sum(s[0] for s in cohort) / len(cohort)
    expected = TRUE.prior * (1 - TRUE.slip) + (1 - TRUE.prior) * TRUE.guess  # 0.41
    assert abs(first_right - expected) < 0.03
    assert cohort == synthetic_cohort(TRUE, 5000, 3, random.Random(1))


EVENT_IDS = itertools.count()


def learning_event(
    kind: str, student: str, topic: str = "python.loops", **data: Any
) -> LearningEvent:
    """Built here, not by tests.unit.factories: that module imports the actor and the
    Dapr SDK, seconds of start-up this file does not need."""
    fields = {"event_id": f"fit-{next(EVENT_IDS)}", "student_id": student, "topic_id": topic}
    fields["occurred_at"] = "2026-12-07T10:00:00Z"
    return parse_event(kind, {**fields, **data})


def test_observation_sequences_group_by_topic_and_student_in_order() -> None:
    submitted, graded = "exercise.submitted", "exercise.quiz_graded"
    events = [
        learning_event(submitted, "s2", exercise_id="e1", passed=False, score=20),
        learning_event(graded, "s1", quiz_id="q1", score=80),
        learning_event("code.executed", "s1", success=False),  # not an observation
        learning_event(submitted, "s2", exercise_id="e1", passed=True, score=90),
        learning_event(graded, "s1", "python.functions", quiz_id="q2", score=30),
        learning_event("code.reviewed", "s1", quality=90),  # not an observation
        learning_event(graded, "s1", quiz_id="q3", score=40),
    ]
    assert observation_sequences(events) == {
        "python.loops": [[True, False], [False, True]],  # s1, then s2
        "python.functions": [[False]],
    }
    assert observation_sequences(events, quiz_pass_mark=35)["python.loops"][0] == [True, True]
