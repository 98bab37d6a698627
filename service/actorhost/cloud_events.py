"""A delivered Kafka message as one CloudEvent, in either content mode of the
CloudEvents Kafka binding.

- Structured mode: the message value is the whole CloudEvent (attributes and ``data``)
  as JSON; events published through Dapr arrive this way. daprd hands the object over
  as the bulk entry's ``event``.
- Binary mode: the value is only the event's ``data``; the attributes travel as Kafka
  headers named ``ce_<attribute>`` and the data's media type as ``content-type``. daprd
  still hands the decoded value over as the entry's ``event`` and passes every header
  in the entry's ``metadata`` (components-contrib's Kafka consumer), so the attributes
  are read from there.

Both give the same structured-mode object, so everything after this point (validation,
the dead-letter record, dedupe on ``data.event_id``) is the same for both modes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors.events import PoisonEvent

HEADER_PREFIX = "ce_"
# the CloudEvents 1.0 attributes every event carries (spec: "REQUIRED Attributes")
REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type")
SPEC_VERSIONS = frozenset({"1.0"})


def is_structured(event: object) -> bool:
    """A structured CloudEvent names its spec version; one without (older producers of
    this service) still carries both ``type`` and ``data``."""
    return isinstance(event, dict) and (
        "specversion" in event or ("type" in event and "data" in event)
    )


def binary_attributes(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """The ``ce_*`` headers of a message as CloudEvent attributes (names lower-cased, as
    the binding's header names are case-insensitive)."""
    if not metadata:
        return {}
    return {
        key[len(HEADER_PREFIX) :].lower(): str(value)
        for key, value in metadata.items()
        if isinstance(key, str) and key.lower().startswith(HEADER_PREFIX)
    }


def _content_type(metadata: Mapping[str, Any]) -> str | None:
    for key, value in metadata.items():
        if isinstance(key, str) and key.lower() == "content-type":
            return str(value)
    return None


def _is_json(media_type: str) -> bool:
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence in ("application/json", "text/json") or essence.endswith("+json")


def from_binary(data: object, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The structured form of a binary-mode message; raises PoisonEvent naming what is
    missing or wrong."""
    attributes = binary_attributes(metadata)
    student = data.get("student_id") if isinstance(data, dict) else None
    student_id = student if isinstance(student, str) else None
    missing = [f"{HEADER_PREFIX}{name}" for name in REQUIRED_ATTRIBUTES if not attributes.get(name)]
    if missing:
        raise PoisonEvent(
            "binary-mode CloudEvent without the required header(s) " + ", ".join(missing),
            student_id,
        )
    if attributes["specversion"] not in SPEC_VERSIONS:
        raise PoisonEvent(
            f"binary-mode CloudEvent of spec version {attributes['specversion']!r}; "
            f"supported: {sorted(SPEC_VERSIONS)}",
            student_id,
        )
    media_type = _content_type(metadata)
    if media_type is not None and not _is_json(media_type):
        raise PoisonEvent(
            f"binary-mode CloudEvent data of content-type {media_type!r}; "
            "the data must be JSON (application/json)",
            student_id,
        )
    event: dict[str, Any] = {**attributes, "data": data}
    if media_type is not None:
        event["datacontenttype"] = media_type
    return event


def as_structured(event: object, metadata: Mapping[str, Any] | None) -> object:
    """The delivered entry as a structured CloudEvent object.

    A structured event is returned as it is; a binary-mode one is assembled from its
    headers. A message that is neither raises PoisonEvent saying what each mode would
    have needed."""
    if is_structured(event):
        return event
    if binary_attributes(metadata):
        return from_binary(event, metadata or {})
    if not isinstance(event, dict) or "type" in event:
        return event  # not an object, or one without data: the caller names what is wrong
    student = event.get("student_id")
    raise PoisonEvent(
        "not a CloudEvent: the message value has no 'specversion' or 'type' (structured "
        "mode) and the message has no ce_specversion, ce_id, ce_source, ce_type headers "
        "(binary mode)",
        student if isinstance(student, str) else None,
    )
