"""Mastery read off a student's state, and the progress document teachers read. Pure."""

from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache
from typing import Any

from actors.config import DomainConfig
from actors.mastery import Mastery, level_for, overall_mastery, topic_mastery
from actors.state import StudentState, streak
from actors.vocabulary import iso_z


def mastery_by_topic(state: StudentState, config: DomainConfig) -> dict[str, Mastery]:
    current_streak = streak(state.active_days)
    return {
        topic_id: _topic_mastery(
            len(topic.passed_exercises),
            config.exercise_target(topic_id),
            tuple(s.value for s in topic.quiz_scores),
            tuple(s.value for s in topic.quality_ratings),
            current_streak,
        )
        for topic_id, topic in sorted(state.topics.items())
    }


@lru_cache(maxsize=65536)
def _topic_mastery(
    passed: int, target: int, quiz: tuple[float, ...], quality: tuple[float, ...], streak_days: int
) -> Mastery:
    """topic_mastery, cached on its inputs (computed twice per event otherwise; Mastery
    is immutable, so sharing results is safe)."""
    return topic_mastery(passed, target, quiz, quality, streak_days)


def overall(state: StudentState, config: DomainConfig) -> float:
    return overall_mastery([m.score for m in mastery_by_topic(state, config).values()])


def topic_document(topic_id: str, mastery: Mastery) -> dict[str, Any]:
    return {
        "topic_id": topic_id,
        "score": mastery.score,
        "level": mastery.level,
        "components": asdict(mastery.components),
    }


def progress_view(state: StudentState, config: DomainConfig) -> dict[str, Any]:
    topics = mastery_by_topic(state, config)
    return {
        "student_id": state.student_id,
        "overall_mastery": overall_mastery([m.score for m in topics.values()]),
        "topics": [
            {
                **topic_document(topic_id, m),
                "passed_exercises": len(state.topics[topic_id].passed_exercises),
                "exercise_target": config.exercise_target(topic_id),
            }
            for topic_id, m in topics.items()
        ],
        "streak_days": streak(state.active_days),
        "last_activity": iso_z(state.last_activity) if state.last_activity else None,
        "events_applied": state.events_applied,
    }


def progress_snapshot(state: StudentState, config: DomainConfig) -> dict[str, Any]:
    """What the read model keeps of a student after a turn: the progress document, the
    level of the overall mastery, and ``version`` (events applied), which orders
    snapshots of the same student."""
    view = progress_view(state, config)
    return {**view, "level": level_for(view["overall_mastery"]), "version": state.events_applied}
