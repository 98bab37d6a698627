"""The progress document teachers read (GET /progress/{student_id}). Pure."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from actors.state import DomainConfig, StudentState, mastery_by_topic, overall, streak


def progress_view(state: StudentState, config: DomainConfig) -> dict[str, Any]:
    topics = mastery_by_topic(state, config)
    return {
        "student_id": state.student_id,
        "overall_mastery": overall(state, config),
        "topics": [
            {
                "topic_id": topic_id,
                "score": m.score,
                "level": m.level,
                "components": asdict(m.components),
                "passed_exercises": len(state.topics[topic_id].passed_exercises),
            }
            for topic_id, m in topics.items()
        ],
        "streak_days": streak(state.active_days),
        "last_activity": state.last_activity.isoformat() if state.last_activity else None,
        "events_applied": state.events_applied,
    }
