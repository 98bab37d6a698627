"""The mastery formula: weights, caps, rounding and level boundaries."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.mastery import exact, level_for, overall_mastery, round1, topic_mastery


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0, "Beginner"),
        (40.0, "Beginner"),
        (40.1, "Learning"),
        (70.0, "Learning"),
        (70.1, "Proficient"),
        (90.0, "Proficient"),
        (90.1, "Mastered"),
        (100, "Mastered"),
    ],
)
def test_level_boundaries(score: float, level: str) -> None:
    assert level_for(score) == level


def test_no_evidence_scores_zero() -> None:
    m = topic_mastery(0, 5, [], [], 0)
    assert m.score == 0.0 and m.level == "Beginner"


def test_weights() -> None:
    # 2/5 exercises = 40, quiz mean 60, quality mean 50, streak 7 of 7 = 100
    m = topic_mastery(2, 5, [50, 70], [50], 7)
    assert m.components.exercise_completion == 40.0
    assert m.components.quiz == 60.0
    assert m.components.code_quality == 50.0
    assert m.components.consistency == 100.0
    assert m.score == pytest.approx(0.4 * 40 + 0.3 * 60 + 0.2 * 50 + 0.1 * 100)


def test_completion_and_streak_are_capped() -> None:
    m = topic_mastery(9, 5, [100], [100], 30)
    assert m.score == 100.0 and m.level == "Mastered"


def test_one_exercise_and_one_day() -> None:
    # 0.4 * 20 + 0.1 * (1/7 * 100) = 9.428... -> 9.4
    assert topic_mastery(1, 5, [], [], 1).score == 9.4


def test_round_half_up() -> None:
    assert round1(exact(40.05)) == 40.1
    assert round1(exact(0.25)) == 0.3
    assert round1(exact(12.649)) == 12.6


def test_overall_is_mean_of_topics() -> None:
    assert overall_mastery([10.0, 20.0, 40.0]) == 23.3
    assert overall_mastery([]) == 0.0


# ------------------------------------------------------------ exact, against a reference
def reference_tenths(
    passed: int, target: int, quiz_tenths: list[int], quality_tenths: list[int], streak: int
) -> int:
    """The contract's formula in integers only, inputs in tenths: the score in tenths,
    rounded half up once. 10 x score = 400 min(p, t)/t + 3 sum(Q)/(10 nq)
    + 2 sum(R)/(10 nr) + 100 min(s, 7)/7, over one common denominator."""
    nq, nr = max(len(quiz_tenths), 1), max(len(quality_tenths), 1)
    denominator = target * 10 * nq * nr * 7
    numerator = (
        400 * min(passed, target) * (denominator // target)
        + 3 * sum(quiz_tenths) * (denominator // (10 * nq))
        + 2 * sum(quality_tenths) * (denominator // (10 * nr))
        + 100 * min(streak, 7) * (denominator // 7)
    )
    return min((2 * numerator + denominator) // (2 * denominator), 1000)


@given(
    passed=st.integers(0, 12),
    target=st.integers(1, 9),
    quiz=st.lists(st.integers(0, 1000), max_size=5),
    quality=st.lists(st.integers(0, 1000), max_size=5),
    streak=st.integers(0, 9),
)
def test_score_is_the_exact_formula_rounded_half_up_once(
    passed: int, target: int, quiz: list[int], quality: list[int], streak: int
) -> None:
    m = topic_mastery(passed, target, [q / 10 for q in quiz], [r / 10 for r in quality], streak)
    expected = reference_tenths(passed, target, quiz, quality, streak)
    assert m.score == expected / 10
    assert m.level == level_for(expected / 10)


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=8))
def test_overall_is_the_exact_mean_whatever_the_topic_order(tenths: list[int]) -> None:
    n = len(tenths)
    expected = (2 * sum(tenths) + n) // (2 * n)
    scores = [t / 10 for t in tenths]
    for order in itertools.islice(itertools.permutations(scores), 24):
        assert overall_mastery(list(order)) == expected / 10


@pytest.mark.parametrize(
    ("args", "score"),
    [
        ((1, 5, [0, 31], [], 0), 12.7),  # 8 + 4.65: 12.649999... in binary floats
        ((0, 5, [100], [50.2, 50.3], 0), 40.1),  # 40.05: Learning, not Beginner
        ((5, 5, [100], [0.2, 0.3], 0), 70.1),  # 70.05: Proficient, not Learning
        ((5, 5, [100], [], 0), 70.0),  # 70.0 exactly stays Learning
    ],
)
def test_half_way_cases_round_up(
    args: tuple[int, int, list[float], list[float], int], score: float
) -> None:
    assert topic_mastery(*args).score == score


def test_overall_of_the_reported_topics_in_any_order() -> None:
    scores = [9.4, 1.4, 18.0, 1.4, 25.4, 42.5]  # exact mean 16.35
    assert {overall_mastery(list(p)) for p in itertools.permutations(scores)} == {16.4}
