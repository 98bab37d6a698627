"""Mastery formula (contract section 3). Pure functions, no I/O.

score = 40 % exercise completion + 30 % quiz + 20 % code quality + 10 % consistency,
each component 0-100, a component without evidence counts 0. The score is rounded to
one decimal (half up) and the level is read off the rounded score, so a teacher who
sees 40.0 sees "Beginner" and 40.1 "Learning".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

WEIGHT_EXERCISE = 0.4
WEIGHT_QUIZ = 0.3
WEIGHT_QUALITY = 0.2
WEIGHT_CONSISTENCY = 0.1
STREAK_CAP_DAYS = 7


@lru_cache(maxsize=65536)
def round1(value: float) -> float:
    """Round half up to one decimal (Python's round() rounds half to even). Cached: the
    same few thousand values come up again and again, and Decimal is slow."""
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


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


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def topic_mastery(
    passed_exercises: int,
    exercise_target: int,
    recent_quiz_scores: Sequence[float],
    recent_quality: Sequence[float],
    streak_days: int,
) -> Mastery:
    completion = min(passed_exercises / exercise_target, 1.0) * 100 if exercise_target else 0.0
    quiz = _mean(recent_quiz_scores)
    quality = _mean(recent_quality)
    consistency = min(streak_days, STREAK_CAP_DAYS) / STREAK_CAP_DAYS * 100
    raw = (
        WEIGHT_EXERCISE * completion
        + WEIGHT_QUIZ * quiz
        + WEIGHT_QUALITY * quality
        + WEIGHT_CONSISTENCY * consistency
    )
    score = round1(min(max(raw, 0.0), 100.0))
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
    """Mean over the topics the student has started; 0 when none."""
    return round1(_mean(topic_scores))
