"""Inbound pub/sub batches: validate each entry, hand each student's events to that
student's actor in one call, dead-letter poison, answer every entry.

daprd delivers Kafka messages in bulk (``bulkSubscribe``): one request carries up to
``bulk_max_messages`` entries of one partition, in offset order. The answer has one
status per entry, and tells daprd what to do with it:

- valid event, applied by the actor or found to be a duplicate: ``SUCCESS``;
- poison (oversized, not JSON, unknown type, invalid field): the service publishes it to
  the dead-letter topic with the reason, then answers ``SUCCESS``, so the partition never
  blocks and nothing is lost; only when that publish fails is it ``RETRY``;
- transient failure (actor call, state store): ``RETRY`` for that student's entries from
  the failed call on. daprd re-sends only the entries answered ``RETRY``, so a student's
  later entries must not succeed past an earlier one that will come again. When the
  resiliency policy's retries run out daprd moves the entries to the dead-letter topic.

An answer is never HTTP 404: daprd takes a 404 to a bulk delivery as "commit the whole
batch" without dead-lettering anything. Any failure of the handler itself is a 500, and
daprd retries the whole batch.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import structlog

from actors.event_batch import encode_batch
from actors.events import EVENT_TYPES, PoisonEvent, parse_event
from service.actorhost.cloud_events import as_structured, binary_attributes
from service.dapr.sidecar import SidecarError
from service.metrics import EVENT_DURATION, EVENTS

log = structlog.get_logger("intake")

SUCCESS = "SUCCESS"
RETRY = "RETRY"


class ActorGateway(Protocol):
    async def apply_event_batch(self, student_id: str, body: bytes) -> dict[str, Any]: ...


class EventLogWriter(Protocol):
    async def write(self, events: Sequence[Accepted]) -> None: ...


class BulkPublisher(Protocol):
    async def publish_bulk(
        self, topic: str, messages: list[tuple[str, dict[str, Any]]]
    ) -> None: ...


@dataclass(frozen=True)
class Accepted:
    """A valid entry: its event as the actor and the event log receive it, with what
    the answer needs."""

    entry_id: str
    event_id: str
    student_id: str
    type: str
    data: dict[str, Any]  # the producer's object, as it arrived
    data_json: str  # ``data`` encoded, once: the actor call's body and the log splice it
    size: int  # bytes of the event's data as it arrived (the limit's measure)
    trace_id: str | None


@dataclass(frozen=True)
class Poison:
    entry_id: str
    type_label: str
    reason: str
    student_id: str | None
    original: Any


@dataclass
class BatchResult:
    statuses: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)

    def answer(self, entry_id: str, status: str, outcome: str, event_type: str) -> None:
        self.statuses[entry_id] = status
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        EVENTS.labels(type=event_type, outcome=outcome).inc()


def _type_label(cloud_event: Any, metadata: dict[str, Any] | None) -> str:
    """The CloudEvent type when it is a known event type, else "invalid" (bounded label
    values: a producer cannot create new time series by sending odd types)."""
    value = cloud_event.get("type") if isinstance(cloud_event, dict) else None
    if value is None:
        value = binary_attributes(metadata).get("type")
    return value if isinstance(value, str) and value in EVENT_TYPES else "invalid"


def _original(cloud_event: Any, metadata: dict[str, Any] | None) -> Any:
    """What the dead-letter record keeps of a message: the value as delivered, and for a
    binary-mode message also its CloudEvent headers (without them the value alone does
    not say what the event was)."""
    headers = {
        k: v
        for k, v in (metadata or {}).items()
        if isinstance(k, str) and (k.lower().startswith("ce_") or k.lower() == "content-type")
    }
    if not headers:
        return cloud_event
    return {"headers": headers, "value": cloud_event}


def _trace_id(cloud_event: dict[str, Any]) -> str | None:
    parent = cloud_event.get("traceparent")
    if isinstance(parent, str) and parent.count("-") == 3:
        return parent.split("-")[1]
    return None


def decode_entry(
    entry_id: str, cloud_event: Any, max_bytes: int, metadata: dict[str, Any] | None = None
) -> Accepted:
    """One bulk entry's CloudEvent (structured, or binary mode with its attributes in
    the Kafka headers daprd passes as ``metadata``), validated. Raises PoisonEvent with a
    reason a producer can act on."""
    if isinstance(cloud_event, str | bytes):
        try:
            cloud_event = json.loads(cloud_event)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PoisonEvent(f"body is not valid JSON: {exc}") from exc
    cloud_event = as_structured(cloud_event, metadata)
    if not isinstance(cloud_event, dict):
        raise PoisonEvent("body is not a CloudEvent object")
    data = cloud_event.get("data")
    # encoded once: the limit's measure, and (but for data sent as text) the text the
    # actor call's body and the event log take as it is
    data_json = json.dumps(data, separators=(",", ":")) if data is not None else ""
    size = len(data_json)
    as_text = False
    if isinstance(data, str):
        as_text = True
        # A producer that published JSON as text/plain: data arrives as a string.
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise PoisonEvent(f"CloudEvent data is not a JSON object: {exc}") from exc
    if size > max_bytes:
        student = data.get("student_id") if isinstance(data, dict) else None
        raise PoisonEvent(
            f"event data of {size} bytes exceeds the {max_bytes}-byte limit",
            student if isinstance(student, str) else None,
        )
    event = parse_event(cloud_event.get("type"), data)  # accepts only an object
    if as_text:
        data_json = json.dumps(data, separators=(",", ":"))
    return Accepted(
        entry_id=entry_id,
        event_id=event.event_id,
        student_id=event.student_id,
        type=event.type,
        data=cast(dict[str, Any], data),
        data_json=data_json,
        size=size,
        trace_id=_trace_id(cloud_event),
    )


def group_by_student(entries: Sequence[Accepted]) -> dict[str, list[Accepted]]:
    """Entries per student, each student's in the batch's (offset) order."""
    groups: dict[str, list[Accepted]] = {}
    for entry in entries:
        groups.setdefault(entry.student_id, []).append(entry)
    return groups


def split_calls(entries: Sequence[Accepted], max_bytes: int) -> list[list[Accepted]]:
    """One student's entries in consecutive chunks of at most ``max_bytes`` of event
    data each (a single larger entry goes alone)."""
    chunks: list[list[Accepted]] = []
    size = 0
    for entry in entries:
        if not chunks or size + entry.size > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += entry.size
    return chunks


def _dead_letter_record(poison: Poison, topic: str) -> dict[str, Any]:
    return {
        "reason": poison.reason,
        "source_topic": topic,
        "dead_lettered_at": datetime.now(UTC).isoformat(),
        "original": poison.original,
    }


class Intake:
    def __init__(
        self,
        actors: ActorGateway,
        sidecar: BulkPublisher,
        deadletter_topic: str,
        max_event_bytes: int,
        actor_call_max_bytes: int,
        max_turns: int = 64,
        event_log: EventLogWriter | None = None,
    ) -> None:
        self._actors = actors
        self._event_log = event_log
        self._sidecar = sidecar
        self._deadletter_topic = deadletter_topic
        self._max_event_bytes = max_event_bytes
        self._actor_call_max_bytes = actor_call_max_bytes
        self._turns = asyncio.Semaphore(max_turns)

    async def handle_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        """The bulk delivery as daprd sends it -> ``{"statuses": [...]}``."""
        start = time.perf_counter()
        topic = str(request.get("topic", ""))
        accepted: list[Accepted] = []
        poisoned: list[Poison] = []
        for raw in request.get("entries") or []:
            entry_id = str(raw.get("entryId"))
            cloud_event = raw.get("event")
            metadata = raw.get("metadata")
            metadata = metadata if isinstance(metadata, dict) else None
            try:
                accepted.append(
                    decode_entry(entry_id, cloud_event, self._max_event_bytes, metadata)
                )
            except PoisonEvent as poison:
                poisoned.append(
                    Poison(
                        entry_id,
                        _type_label(cloud_event, metadata),
                        poison.reason,
                        poison.student_id,
                        _original(cloud_event, metadata),
                    )
                )
        result = BatchResult()
        groups = group_by_student(accepted)
        # the events are logged while the actors apply them; an entry is answered only
        # when both are done (service/eventlog/log.py)
        logged = asyncio.create_task(self._log_events(accepted))
        await asyncio.gather(
            self._dead_letter(poisoned, topic, result),
            *(
                self._student(sid, entries, start, result, logged)
                for sid, entries in groups.items()
            ),
        )
        await logged
        log.info(
            "batch_handled",
            topic=topic,
            entries=len(accepted) + len(poisoned),
            students=len(groups),
            duration_ms=round((time.perf_counter() - start) * 1000, 2),
            **result.outcomes,
        )
        return {"statuses": [{"entryId": k, "status": v} for k, v in result.statuses.items()]}

    async def _dead_letter(self, poisoned: list[Poison], topic: str, result: BatchResult) -> None:
        if not poisoned:
            return
        try:
            await self._sidecar.publish_bulk(
                self._deadletter_topic,
                [(p.student_id or "", _dead_letter_record(p, topic)) for p in poisoned],
            )
        except SidecarError as exc:
            log.warning("deadletter_publish_failed", topic=topic, error=str(exc))
            for p in poisoned:
                result.answer(p.entry_id, RETRY, "retried", p.type_label)
            return
        for p in poisoned:
            result.answer(p.entry_id, SUCCESS, "poison", p.type_label)
            log.warning(
                "event_poison",
                topic=topic,
                reason=p.reason,
                student_id=p.student_id,
                outcome="poison",
            )

    async def _log_events(self, accepted: list[Accepted]) -> bool:
        """Whether the batch's events are in the event log (True without a log)."""
        if self._event_log is None or not accepted:
            return True
        try:
            await self._event_log.write(accepted)
        except Exception as exc:  # answered RETRY by each student's task
            log.warning("event_log_failed", events=len(accepted), error=repr(exc))
            return False
        return True

    async def _student(
        self,
        student_id: str,
        entries: list[Accepted],
        start: float,
        result: BatchResult,
        logged: asyncio.Task[bool],
    ) -> None:
        """One actor call per chunk of the student's entries, in order; after a failed
        call this and every later entry of the student is RETRY (order must hold), and
        so is every entry when the batch's events could not be logged."""
        chunks = split_calls(entries, self._actor_call_max_bytes)
        for i, chunk in enumerate(chunks):
            body = encode_batch(
                [(e.type, e.data_json) for e in chunk],
                sorted({e.trace_id for e in chunk if e.trace_id}),
            )
            try:
                async with self._turns:
                    answer = await self._actors.apply_event_batch(student_id, body)
                outcomes = answer["outcomes"]
                if len(outcomes) != len(chunk):
                    raise ValueError(f"{len(outcomes)} outcomes for {len(chunk)} events")
                if not await asyncio.shield(logged):
                    raise RuntimeError("the batch's events could not be logged")
            except Exception as exc:  # transient: daprd re-sends the RETRY entries
                later = [e for c in chunks[i:] for e in c]
                log.warning(
                    "student_retry",
                    student_id=student_id,
                    events=len(later),
                    first_event_id=later[0].event_id,
                    error=repr(exc),
                )
                for e in later:
                    result.answer(e.entry_id, RETRY, "retried", e.type)
                return
            elapsed = time.perf_counter() - start
            for e, outcome in zip(chunk, outcomes, strict=True):
                result.answer(e.entry_id, SUCCESS, str(outcome), e.type)
                EVENT_DURATION.labels(type=e.type).observe(elapsed)
                log.debug(
                    "event_handled",
                    event_id=e.event_id,
                    student_id=student_id,
                    type=e.type,
                    outcome=outcome,
                    trace_id=e.trace_id,
                )
