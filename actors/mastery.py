"""Mastery formula (docs/rules.md, "Mastery per topic"). Pure functions, no I/O.

score = 40 % exercise completion + 30 % quiz + 20 % code quality + 10 % consistency,
each component 0-100, a component without evidence counts 0. The score is rounded to
one decimal (half up) and the level is read off the rounded score, so a teacher who
sees 40.0 sees "Beginner" and 40.1 "Learning".

Computed exactly: every input is taken as the decimal number it was written as
(``Fraction(repr(x))``), the arithmetic is rational, and each published number is rounded
half up once. In binary floats 8 + 4.65 is 12.649999…, which rounded to 12.6 instead of
12.7, and a mean of one-decimal scores depended on the order of its terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

WEIGHT_EXERCISE = Fraction(4, 10)
WEIGHT_QUIZ = Fraction(3, 10)
WEIGHT_QUALITY = Fraction(2, 10)
WEIGHT_CONSISTENCY = Fraction(1, 10)
STREAK_CAP_DAYS = 7
_HUNDRED = Fraction(100)


def exact(value: float) -> Fraction:
    """``value`` as the decimal it was written as (0.1 is 1/10, not the binary float
    nearest to it)."""
    return Fraction(value) if isinstance(value, int) else Fraction(repr(value))


def round1(value: Fraction) -> float:
    """Round half up to one decimal (Python's round() rounds half to even)."""
    tenths = (value * 10 + Fraction(1, 2)).__floor__()
    return float(Fraction(tenths, 10))


def level_for(score: float) -> str:
    if score <= 40:
        return "Beginner"
    if score <= 70:
        return "Learning"
    if score <= 90:
        return "Proficient"
    return "Mastered"


@dataclass(frozen=True)
class Components:
    exercise_completion: float
    quiz: float
    code_quality: float
    consistency: float


@dataclass(frozen=True)
class Mastery:
    score: float
    level: str
    components: Components


def _mean(values: Sequence[float]) -> Fraction:
    return sum((exact(v) for v in values), Fraction(0)) / len(values) if values else Fraction(0)


def topic_mastery(
    passed_exercises: int,
    exercise_target: int,
    recent_quiz_scores: Sequence[float],
    recent_quality: Sequence[float],
    streak_days: int,
) -> Mastery:
    completion = (
        min(Fraction(passed_exercises, exercise_target), Fraction(1)) * _HUNDRED
        if exercise_target
        else Fraction(0)
    )
    quiz = _mean(recent_quiz_scores)
    quality = _mean(recent_quality)
    consistency = Fraction(min(streak_days, STREAK_CAP_DAYS), STREAK_CAP_DAYS) * _HUNDRED
    raw = (
        WEIGHT_EXERCISE * completion
        + WEIGHT_QUIZ * quiz
        + WEIGHT_QUALITY * quality
        + WEIGHT_CONSISTENCY * consistency
    )
    score = round1(min(max(raw, Fraction(0)), _HUNDRED))
    return Mastery(
        score=score,
        level=level_for(score),
        components=Components(
            exercise_completion=round1(completion),
            quiz=round1(quiz),
            code_quality=round1(quality),
            consistency=round1(consistency),
        ),
    )


def overall_mastery(topic_scores: Sequence[float]) -> float:
    """Mean over the topics the student has started, of their published (rounded)
    scores; 0 when none. Exact, so the order of the topics does not matter."""
    return round1(_mean(topic_scores))
