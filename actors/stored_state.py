"""A student's state as stored in the actor state store, and how older stored forms are
read: each schema version has one upgrade step to the next, applied in turn on load.

Version 1 (before 2026-11-27) had no ``schema_version`` and re-armed the inactivity
reminder on every event; version 2 records when that reminder is armed for
(``inactivity_due``). The upgrade leaves it unset, so the next event arms it once more.
Version 3 replaces a reminder per pending exercise plus the inactivity reminder with one
wake-up reminder per student (``wake_due``; ``inactivity_alerted_for`` says whether the
inactivity alert of the current idle spell was raised). The upgrade leaves the wake-up
unarmed, so the next event or the firing of any reminder a version 2 state armed arms
it; those older reminders fire once more and are handled as wake-ups.

Version 4 keeps evidence for alerts (issue 13): the failed runs behind the failed-runs
rules, the event of an exercise start and of the last activity. The upgrade starts them
empty: an alert raised from older state names fewer events.

Version 5 adds knowledge tracing per topic (issue 24): the probability that the student
knows the topic, the observations counted and the probability's recent history. The
upgrade leaves them empty: a topic's probability is absent (null) until its next
observation, which starts it at the topic's prior (docs/rules.md says why). Only fields
are added, so the release before reads a version 5 state (``min_reader_version`` stays
4); answers it applies leave the probability where it was.

Across releases (decision 012): during a rolling update or after a rollback this code
also reads state a newer release wrote. Every stored state says the oldest version that
reads it correctly (``min_reader_version``). A newer form that only adds fields keeps it
at the version before, so this code reads it as it is (no upgrade step runs), applies
events to the fields it knows and writes every field it does not know back unchanged,
under the newer ``schema_version``. A form whose ``min_reader_version`` is newer than
this code is refused rather than guessed at.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from actors.state import StudentState

SCHEMA_VERSION = 5
# The oldest version that reads what this code writes: raised only by the second of the
# two releases a change that older code cannot read takes (decision 012).
MIN_READER_VERSION = 4


class UnknownSchemaVersion(ValueError):
    """The stored state was written by a newer version of the service."""


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "schema_version": 2, "inactivity_due": None}


def _v2_to_v3(doc: dict[str, Any]) -> dict[str, Any]:
    """Per-exercise reminder names go. Whether the inactivity alert of the last idle spell
    was raised is not recorded before version 3: taken as not raised. Raising it again
    derives the same alert id (actors/effects.py), which the alert table already holds."""
    topics = {
        topic_id: {
            **topic,
            "pending_exercises": [
                {k: v for k, v in pending.items() if k != "reminder"}
                for pending in topic.get("pending_exercises", [])
            ],
        }
        for topic_id, topic in doc.get("topics", {}).items()
    }
    upgraded = {k: v for k, v in doc.items() if k != "inactivity_due"}
    return {
        **upgraded,
        "schema_version": 3,
        "topics": topics,
        "inactivity_alerted_for": None,
        "wake_due": None,
    }


def _v3_to_v4(doc: dict[str, Any]) -> dict[str, Any]:
    """The new evidence fields take their defaults (none recorded yet)."""
    return {**doc, "schema_version": 4}


def _v4_to_v5(doc: dict[str, Any]) -> dict[str, Any]:
    """No probability yet: each topic's starts at its next observation, from the prior
    (the stored state never kept the failed submissions a replay would need)."""
    return {**doc, "schema_version": 5}


UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
}


def decode_state(raw: str | bytes | dict[str, Any]) -> StudentState:
    """The state from its stored form: JSON text (today) or a JSON object (the first
    stored form, before state was kept as text), of any known schema version."""
    doc: Any = json.loads(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(doc, dict):
        raise ValueError(f"stored student state is not a JSON object: {type(doc).__name__}")
    version = doc.get("schema_version", 1)
    readable_from = doc.get("min_reader_version", version)
    if not isinstance(version, int) or not isinstance(readable_from, int):
        raise UnknownSchemaVersion(
            f"stored student state has schema_version {version!r} and min_reader_version "
            f"{readable_from!r}: not integers"
        )
    if readable_from > SCHEMA_VERSION:
        raise UnknownSchemaVersion(
            f"stored student state has schema_version {version} and needs a reader of "
            f"version {readable_from} or newer; this code reads up to {SCHEMA_VERSION}"
        )
    while version < SCHEMA_VERSION:
        doc = UPGRADES[version](doc)
        version += 1
    if doc["schema_version"] == SCHEMA_VERSION:
        doc = {**doc, "min_reader_version": MIN_READER_VERSION}
    return StudentState.model_validate(doc)


def encode_state(state: StudentState) -> str:
    """Stored as one JSON text, not as an object: the SDK's default JSON deserializer
    turns every ISO-8601-looking string inside an object into a datetime."""
    return state.model_dump_json()
