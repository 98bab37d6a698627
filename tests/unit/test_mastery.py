"""The mastery formula: weights, caps, rounding and level boundaries."""

import pytest

from actors.mastery import level_for, overall_mastery, round1, topic_mastery


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
    assert round1(40.05) == 40.1
    assert round1(0.25) == 0.3


def test_overall_is_mean_of_topics() -> None:
    assert overall_mastery([10.0, 20.0, 40.0]) == 23.3
    assert overall_mastery([]) == 0.0
