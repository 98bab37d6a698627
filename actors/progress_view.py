"""Mastery read off a student's state, and the progress document teachers read. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from functools import lru_cache
from typing import Any

from actors.config import DomainConfig
from actors.knowledge_tracing import knowledge_level, published
from actors.mastery import Mastery, level_for, overall_mastery, topic_mastery
from actors.state import StudentState, TopicState, streak
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


def probability_of(topic: TopicState) -> float | None:
    """The topic's probability of being known as shown (None: no observation yet)."""
    held = topic.mastery_probability
    return None if held is None else published(held)


def knowledge_document(probability: float | None) -> dict[str, Any]:
    """A topic's knowledge tracing fields, beside the weighted score (docs/rules.md)."""
    return {
        "mastery_probability": probability,
        "knowledge_level": None if probability is None else knowledge_level(probability),
    }


def progress_view(state: StudentState, config: DomainConfig) -> dict[str, Any]:
    topics = mastery_by_topic(state, config)
    return {
        "student_id": state.student_id,
        "overall_mastery": overall_mastery([m.score for m in topics.values()]),
        "topics": [
            {
                **topic_document(topic_id, m),
                **knowledge_document(probability_of(state.topics[topic_id])),
                "passed_exercises": len(state.topics[topic_id].passed_exercises),
                "exercise_target": config.exercise_target(topic_id),
            }
            for topic_id, m in topics.items()
        ],
        "streak_days": streak(state.active_days),
        "last_activity": iso_z(state.last_activity) if state.last_activity else None,
        "events_applied": state.events_applied,
    }


TopicKey = tuple[float, str, int, float | None]
"""What the read model's row of a topic shows: score, level, passed exercises, the
probability of knowing it (as shown)."""


def progress_snapshot(
    state: StudentState, config: DomainConfig, written: Mapping[str, TopicKey] | None = None
) -> tuple[dict[str, Any], dict[str, TopicKey]]:
    """What the read model keeps of a student after a turn — overall mastery, its level,
    streak, last activity, ``version`` (events applied, which orders snapshots of one
    life of the student's state), ``life`` and ``saved_at`` (which tell a new life from
    the old, and when the state expires: service/readmodel/projection.py) and the topics
    (score, level, probability of knowing it) — and the key of every topic. Topics whose
    key equals the one in ``written`` (what this actor last wrote) are left out: the read
    model has them already, and most turns change one topic."""
    topics = mastery_by_topic(state, config)
    overall = overall_mastery([m.score for m in topics.values()])
    keys = {
        topic_id: (
            m.score,
            m.level,
            len(state.topics[topic_id].passed_exercises),
            probability_of(state.topics[topic_id]),
        )
        for topic_id, m in topics.items()
    }
    previous = written or {}
    snapshot = {
        "student_id": state.student_id,
        "version": state.events_applied,
        "life": state.life,
        "saved_at": iso_z(state.saved_at) if state.saved_at else None,
        "overall_mastery": overall,
        "level": level_for(overall),
        "streak_days": streak(state.active_days),
        "last_activity": iso_z(state.last_activity) if state.last_activity else None,
        "topics": [
            {
                **topic_document(topic_id, m),
                **knowledge_document(keys[topic_id][3]),
                "passed_exercises": keys[topic_id][2],
                "exercise_target": config.exercise_target(topic_id),
            }
            for topic_id, m in topics.items()
            if previous.get(topic_id) != keys[topic_id]
        ],
    }
    return snapshot, keys
