"""The words the service shares across its parts, defined once: what a student id may
look like, the alert kinds and statuses, and how timestamps are written and read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

# Student ids travel in events, URLs, Kafka keys and actor ids.
STUDENT_ID_PATTERN = r"^[A-Za-z0-9_.:@-]+$"
STUDENT_ID_MAX = 128

AlertKind = Literal[
    "repeated_error",
    "failed_executions",
    "stuck",
    "low_quiz",
    "help_request",
    "inactivity",
    "class_misconception",  # about a class, not one student (actors/misconceptions.py)
    "wheel_spinning",  # many answers in a topic without mastery (issue 24, docs/rules.md)
]
ALERT_KINDS: tuple[str, ...] = get_args(AlertKind)
AlertStatus = Literal["open", "acknowledged", "resolved"]
ALERT_STATUSES: tuple[str, ...] = get_args(AlertStatus)
# Statuses in which an alert still blocks a second one for the same (student, kind,
# topic): a teacher acknowledging an alert has not made it go away.
UNRESOLVED: tuple[str, ...] = ("open", "acknowledged")
Severity = Literal["low", "medium", "high"]


def iso_z(value: datetime) -> str:
    """RFC 3339 in UTC with a "Z", as every timestamp the service writes."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class NotRfc3339(ValueError):
    """A timestamp that is not RFC 3339 with an offset; the message says what to send."""


def parse_rfc3339(text: str, field: str) -> datetime:
    """A timestamp as the service accepts them: RFC 3339 with a UTC offset."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise NotRfc3339(f"{field}: {text!r} is not an RFC 3339 timestamp") from exc
    if value.tzinfo is None:
        raise NotRfc3339(f"{field}: {text!r} has no UTC offset (RFC 3339 needs one, e.g. 'Z')")
    return value
