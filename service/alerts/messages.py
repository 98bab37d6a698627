"""The ``struggle.detected`` message (docs/events.md), one per new alert."""

from __future__ import annotations

from typing import Any

from actors.effects import AlertCandidate
from actors.vocabulary import iso_z


def struggle_payload(alert: AlertCandidate) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "student_id": alert.student_id,
        "class_id": alert.class_id,
        "kind": alert.kind,
        "topic_id": alert.topic_id,
        "severity": alert.severity,
        "details": alert.details,
        "detected_at": iso_z(alert.detected_at),
        "trigger_event_id": alert.trigger_event_id,
        "status": "open",
        "rule": alert.rule,
        "evidence": alert.evidence,
    }
