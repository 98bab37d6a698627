"""Inbound pub/sub deliveries: validate, hand to the student's actor, or dead-letter.

Dapr delivers each Kafka message as a CloudEvent. The answer tells daprd what to do:

- valid event, actor applied it (or it was a duplicate): ``SUCCESS``;
- poison event (oversized, not JSON, unknown type, invalid field): the service itself
  publishes it to the dead-letter topic together with the reason, then answers
  ``SUCCESS``, so the partition is never blocked and nothing is lost. Only if that
  publish fails does it answer ``RETRY``;
- transient failure (actor call, state store): ``RETRY``. daprd retries with the
  resiliency policy (components/resiliency.yaml) and, when retries run out, sends the
  message to the subscription's dead-letter topic: never dropped, never retried forever.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from actors.events import EVENT_TYPES, PoisonEvent, parse_event, to_envelope
from service.metrics import EVENT_DURATION, EVENTS
from service.sidecar import Sidecar, SidecarError

log = structlog.get_logger("intake")

SUCCESS = {"status": "SUCCESS"}
RETRY = {"status": "RETRY"}


class ActorGateway(Protocol):
    async def apply_event(self, student_id: str, envelope: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Delivery:
    """One pub/sub delivery as received (the raw CloudEvent bytes)."""

    topic: str
    body: bytes


def _decode(delivery: Delivery, max_bytes: int) -> dict[str, Any]:
    if len(delivery.body) > max_bytes:
        raise PoisonEvent(
            f"payload of {len(delivery.body)} bytes exceeds the {max_bytes}-byte limit"
        )
    try:
        cloud_event = json.loads(delivery.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonEvent(f"body is not valid JSON: {exc}") from exc
    if not isinstance(cloud_event, dict):
        raise PoisonEvent("body is not a CloudEvent object")
    data = cloud_event.get("data")
    if isinstance(data, str):
        # A producer that published JSON as text/plain: data arrives as a string.
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise PoisonEvent(f"CloudEvent data is not a JSON object: {exc}") from exc
    return to_envelope(parse_event(cloud_event.get("type"), data))


def _type_label(delivery: Delivery) -> str:
    """The CloudEvent type when it is a known event type, else "invalid" (bounded label
    values: a producer cannot create new time series by sending odd types)."""
    try:
        value = json.loads(delivery.body).get("type")
    except (ValueError, AttributeError):
        return "invalid"
    return value if value in EVENT_TYPES else "invalid"


def _dead_letter_record(delivery: Delivery, reason: str) -> dict[str, Any]:
    text = delivery.body.decode("utf-8", errors="replace")
    try:
        original: Any = json.loads(text)
    except json.JSONDecodeError:
        original = text
    return {
        "reason": reason,
        "source_topic": delivery.topic,
        "dead_lettered_at": datetime.now(UTC).isoformat(),
        "original": original,
    }


async def handle_delivery(
    delivery: Delivery,
    actors: ActorGateway,
    sidecar: Sidecar,
    deadletter_topic: str,
    max_bytes: int,
) -> dict[str, str]:
    start = time.perf_counter()
    try:
        envelope = _decode(delivery, max_bytes)
    except PoisonEvent as poison:
        try:
            await sidecar.publish(
                deadletter_topic,
                _dead_letter_record(delivery, poison.reason),
                partition_key=poison.student_id,
            )
        except SidecarError as exc:
            log.warning("deadletter_publish_failed", topic=delivery.topic, error=str(exc))
            return RETRY
        EVENTS.labels(type=_type_label(delivery), outcome="poison").inc()
        log.warning(
            "event_poison",
            topic=delivery.topic,
            reason=poison.reason,
            student_id=poison.student_id,
            outcome="poison",
        )
        return SUCCESS
    data = envelope["data"]
    try:
        result = await actors.apply_event(data["student_id"], envelope)
    except Exception as exc:  # transient: daprd retries, then dead-letters
        EVENTS.labels(type=envelope["type"], outcome="retried").inc()
        log.warning(
            "event_retry",
            event_id=data["event_id"],
            student_id=data["student_id"],
            type=envelope["type"],
            error=repr(exc),
            outcome="retry",
        )
        return RETRY
    elapsed = time.perf_counter() - start
    EVENTS.labels(type=envelope["type"], outcome=str(result.get("outcome"))).inc()
    EVENT_DURATION.labels(type=envelope["type"]).observe(elapsed)
    log.info(
        "event_handled",
        event_id=data["event_id"],
        student_id=data["student_id"],
        type=envelope["type"],
        outcome=result.get("outcome"),
        duration_ms=round(elapsed * 1000, 2),
    )
    return SUCCESS
