"""What an alert records about why it fired (issue 13, docs/rules.md "Evidence"): the
rule — its kind, the version of the rule set and the thresholds it compared against —
and the evidence: the events behind it and the facts that matter for its kind. Pure.

``details`` (what each kind carried before) is left as it is; ``rule`` and ``evidence``
are additional fields, so no field a consumer reads today changes meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from actors.config import DomainConfig
from actors.knowledge_tracing import BktParameters, published
from actors.state import FailedRun, StudentState, TopicState
from actors.vocabulary import AlertKind, iso_z

# The newest error messages an alert about failed runs quotes.
MESSAGES_QUOTED = 3


def thresholds(kind: AlertKind, config: DomainConfig) -> dict[str, Any]:
    """The settings the rule of ``kind`` compared against (docs/rules.md), each under the
    name a rule set gives it (service/rulesets/model.py: the settings' names in lower
    case, without the PROGRESS_ prefix)."""
    if kind == "help_request":
        return {"help_phrases": list(config.help_phrases)}
    if kind == "low_quiz":
        return {"quiz_low_below": config.quiz_low_below, "quiz_high_below": config.quiz_high_below}
    if kind == "failed_executions":
        return {"consecutive_failure_count": config.consecutive_failure_count}
    if kind == "repeated_error":
        return {"repeated_error_count": config.repeated_error_count}
    if kind == "stuck":
        return {"stuck_minutes": round(config.stuck_after.total_seconds() / 60, 2)}
    if kind == "wheel_spinning":
        return {
            "wheel_spinning_attempts": config.wheel_spinning_attempts,
            "wheel_spinning_mastery": config.wheel_spinning_mastery,
        }
    if kind == "class_misconception":
        return {
            "misconception_share": config.misconception_share,
            "misconception_min_students": config.misconception_min_students,
            "misconception_window_hours": round(
                config.misconception_window.total_seconds() / 3600, 2
            ),
        }
    return {"inactivity_days": round(config.inactivity_after.total_seconds() / 86400, 2)}


def rule_of(kind: AlertKind, config: DomainConfig) -> dict[str, Any]:
    return {"kind": kind, "version": config.rules_version, "thresholds": thresholds(kind, config)}


def _common(state: StudentState, event_ids: Sequence[str]) -> dict[str, Any]:
    last = state.last_activity
    return {"event_ids": list(event_ids), "last_activity": iso_z(last) if last else None}


def _messages(failures: Sequence[FailedRun]) -> list[str]:
    """The newest error messages first, at most MESSAGES_QUOTED."""
    quoted = [f.error_message for f in reversed(failures) if f.error_message]
    return quoted[:MESSAGES_QUOTED]


def failure_evidence(
    state: StudentState,
    failures: Sequence[FailedRun],
    error_counts: dict[str, int],
    error_type: str | None = None,
) -> dict[str, Any]:
    """Evidence of the failed-runs rules from the topic's failed runs since its last
    successful one (the newest FAILURE_WINDOW of them; ``error_type``: only that type's)."""
    picked = [f for f in failures if error_type is None or f.error_type == error_type]
    return {
        **_common(state, [f.event_id for f in picked]),
        "error_types": dict(sorted(error_counts.items())),
        "last_error_messages": _messages(picked),
        "exercise_ids": sorted({f.exercise_id for f in picked if f.exercise_id}),
    }


def event_evidence(state: StudentState, event_id: str, **facts: Any) -> dict[str, Any]:
    """Evidence of a rule one event fired (help request, low quiz)."""
    return {**_common(state, [event_id]), **facts}


def stuck_evidence(
    state: StudentState,
    exercise_id: str,
    started_at: datetime,
    start_event_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        **_common(state, [start_event_id] if start_event_id else []),
        "exercise_id": exercise_id,
        "started_at": iso_z(started_at),
        "minutes_without_pass": round((now - started_at).total_seconds() / 60, 2),
    }


def spinning_evidence(
    state: StudentState, topic: TopicState, params: BktParameters, version: str
) -> dict[str, Any]:
    """Evidence of wheel_spinning: the topic's observations counted, its probability now
    and after each of its newest observations (``event_ids`` in the same order), and the
    parameters that computed it, with their version."""
    history = topic.probability_history
    return {
        **_common(state, [p.event_id for p in history]),
        "attempts": topic.observations,
        "mastery_probability": published(topic.mastery_probability or 0.0),
        "probability_history": [
            {"occurred_at": iso_z(p.occurred_at), "probability": published(p.value)}
            for p in history
        ],
        "parameters_version": version,
        "parameters": params.to_dict(),
    }


def inactivity_evidence(state: StudentState, now: datetime) -> dict[str, Any]:
    last = state.last_activity
    assert last is not None
    return {
        **_common(state, [state.last_event_id] if state.last_event_id else []),
        "inactive_days": round((now - last).total_seconds() / 86400, 2),
    }
