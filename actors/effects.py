"""Side effects the domain decides on, as plain data (the actor performs them).

They are written into the student's state (its *outbox*) in the same save as the
state change that caused them, performed afterwards, then cleared. If the process dies
in between, the next call to the actor performs them again. Each one is idempotent or
harmless to repeat: an alert has a deterministic id (insert-if-absent), a reminder is
registered under a fixed name (re-registering overwrites), and every outbound message
carries an id consumers can dedupe on.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, field_validator, model_validator

from actors.vocabulary import AlertKind, Severity

_ALERT_NAMESPACE = uuid.UUID("6f1c2b0e-7a41-4f53-9a57-2d0c8f3e9b11")


# The names alerts raised before issue 21 gave their thresholds (migration 0012 renames
# them in stored alerts and dry-run reports); today's are actors/evidence.py's.
FORMER_THRESHOLD_NAMES: dict[str, str] = {
    "phrases": "help_phrases",
    "low_below": "quiz_low_below",
    "high_below": "quiz_high_below",
    "consecutive_failures": "consecutive_failure_count",
    "same_error_count": "repeated_error_count",
    "minutes_without_pass": "stuck_minutes",
    "inactive_days": "inactivity_days",
    "share": "misconception_share",
    "min_students": "misconception_min_students",
    "window_hours": "misconception_window_hours",
}


def with_current_names(rule: dict[str, Any] | None) -> dict[str, Any] | None:
    """``rule`` with its thresholds under today's names: an alert in the outbox of a
    state saved by the release before, or written by one of its replicas during an
    upgrade, still has the former names."""
    if rule is None or not isinstance(rule.get("thresholds"), dict):
        return rule
    found = rule["thresholds"]
    if not any(name in FORMER_THRESHOLD_NAMES for name in found):
        return rule
    renamed = {FORMER_THRESHOLD_NAMES.get(name, name): value for name, value in found.items()}
    return {**rule, "thresholds": renamed}


class AlertCandidate(BaseModel):
    """A struggle the rules detected. Whether it becomes a new alert is up to the alert
    table: at most one unresolved alert per (student, kind, topic)."""

    id: str
    student_id: str | None  # None for an alert about a class (class_id set)
    kind: AlertKind
    topic_id: str | None
    severity: Severity
    details: dict[str, Any]
    detected_at: datetime
    trigger_event_id: str | None
    # Why it fired (actors/evidence.py). None in outboxes saved before they existed.
    rule: dict[str, Any] | None = None
    evidence: dict[str, Any] | None = None
    class_id: str | None = None

    @field_validator("rule")
    @classmethod
    def _current_names(cls, rule: dict[str, Any] | None) -> dict[str, Any] | None:
        return with_current_names(rule)

    @property
    def key(self) -> str:
        """The Kafka key of its struggle.detected: the student, or the class."""
        return self.student_id or f"class:{self.class_id}"


def make_alert(
    student_id: str | None,
    kind: AlertKind,
    topic_id: str | None,
    severity: Severity,
    details: dict[str, Any],
    detected_at: datetime,
    trigger: str,
    trigger_event_id: str | None,
    rule: dict[str, Any] | None = None,
    evidence: dict[str, Any] | None = None,
    class_id: str | None = None,
) -> AlertCandidate:
    """``trigger`` identifies the cause (event id or reminder firing), so a replay of the
    same cause yields the same alert id."""
    subject = student_id if student_id is not None else f"class:{class_id}"
    alert_id = uuid.uuid5(_ALERT_NAMESPACE, f"{subject}|{kind}|{topic_id}|{trigger}")
    return AlertCandidate(
        id=str(alert_id),
        student_id=student_id,
        kind=kind,
        topic_id=topic_id,
        severity=severity,
        details=details,
        detected_at=detected_at,
        trigger_event_id=trigger_event_id,
        rule=rule,
        evidence=evidence,
        class_id=class_id,
    )


# Alert kinds the release before does not know, and the op their alerts are stored under
# in an outbox (decision 012). That release validates a stored raise_alert's kind against
# its own kinds: an alert of a newer kind left in a stored outbox (after a crash between
# save and perform, or until the student's next save) would fail every call of the
# student's actor on one of its replicas during an upgrade or after a rollback. Under an
# op it does not know, the effect is carried there unperformed instead (actors/outbox.py).
# A release after the next may store these as raise_alert again.
NEW_KINDS: frozenset[str] = frozenset({"wheel_spinning"})
RAISE_NEW_KIND: Final = "raise_alert_new_kind"


class RaiseAlert(BaseModel):
    op: Literal["raise_alert", "raise_alert_new_kind"] = "raise_alert"
    alert: AlertCandidate

    @model_validator(mode="after")
    def _op_of_kind(self) -> RaiseAlert:
        """The op follows the kind: RAISE_NEW_KIND for NEW_KINDS, raise_alert else."""
        if self.alert.kind in NEW_KINDS:
            self.op = RAISE_NEW_KIND
        else:
            self.op = "raise_alert"
        return self


class PublishProgress(BaseModel):
    op: Literal["publish_progress"] = "publish_progress"
    payload: dict[str, Any]


class ProjectProgress(BaseModel):
    """Write the student's progress to the read model (service/readmodel). Carries no
    data: the snapshot is taken from the state when the effect is performed, with that
    state's version (events applied), and the read model keeps only the newest version,
    so performing it again, or after a newer one, changes nothing."""

    op: Literal["project_progress"] = "project_progress"


class ErrorSignal(BaseModel):
    """A student hit ``error_type`` in ``topic_id`` (a failed code.executed): told to the
    actors of the student's classes (actors/misconceptions.py)."""

    student_id: str
    topic_id: str
    error_type: str
    occurred_at: datetime
    event_id: str


class SignalErrors(BaseModel):
    """Tell the student's classes about these error signals. Repeating it is harmless: a
    class counts each student once per topic and error type."""

    op: Literal["signal_errors"] = "signal_errors"
    signals: list[ErrorSignal]


class SetReminder(BaseModel):
    op: Literal["set_reminder"] = "set_reminder"
    name: str
    due_at: datetime
    data: dict[str, Any]


class CancelReminder(BaseModel):
    op: Literal["cancel_reminder"] = "cancel_reminder"
    name: str


Effect = (
    RaiseAlert | PublishProgress | ProjectProgress | SignalErrors | SetReminder | CancelReminder
)
