"""The figures of ``GET /ops/intake``, from what was read: consumer lag per partition,
the dead-letter topic's newest records as docs/events.md describes them, and the events
this replica handled since it started. Pure functions; service/frontend/kafka_reader.py reads
Kafka, service/frontend/routes/ops.py puts them together."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.registry import CollectorRegistry

from service.metrics import EVENTS

# outcomes of progress_events_total (service/actorhost/intake.py) a reader counts as handled
PROCESSED = ("applied", "duplicate")
DEAD_LETTERED = "poison"
RETRIED = "retried"


@dataclass(frozen=True)
class PartitionOffsets:
    """One partition as read: its log's first and next offsets, and the group's commit
    (the next offset the group reads; None when it has committed none there)."""

    topic: str
    partition: int
    log_start: int
    log_end: int
    committed: int | None


@dataclass(frozen=True)
class RawRecord:
    """A record of the dead-letter topic as read from Kafka."""

    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


def lag(committed: int | None, log_end: int) -> int | None:
    """What the group has still to read on a partition: the log end offset minus its
    committed offset, as ``kafka-consumer-groups.sh --describe`` gives it; None when
    the group has committed nothing there."""
    if committed is None:
        return None
    return max(log_end - committed, 0)


def retained(offsets: PartitionOffsets) -> int:
    """Records on the partition now (retention may have removed older ones)."""
    return max(offsets.log_end - offsets.log_start, 0)


def sum_known(values: Iterable[int | None]) -> int | None:
    """The sum of the known values; None when none is known."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def partition_row(offsets: PartitionOffsets) -> dict[str, Any]:
    return {
        "partition": offsets.partition,
        "committed_offset": offsets.committed,
        "log_start_offset": offsets.log_start,
        "log_end_offset": offsets.log_end,
        "lag": lag(offsets.committed, offsets.log_end),
    }


def topic_row(topic: str, role: str, partitions: Sequence[PartitionOffsets]) -> dict[str, Any]:
    """A topic's partitions (in partition order) with their sums."""
    mine = sorted((p for p in partitions if p.topic == topic), key=lambda p: p.partition)
    rows = [partition_row(p) for p in mine]
    return {
        "topic": topic,
        "role": role,
        "exists": bool(mine),
        "records": sum(retained(p) for p in mine),
        "lag": sum_known(row["lag"] for row in rows),
        "partitions": rows,
    }


def _json(value: bytes | None) -> Any:
    try:
        return json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None  # not a time: the caller falls back to the record's timestamp
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _when(iso: Any, timestamp_ms: int | None) -> datetime | None:
    """The service's ``dead_lettered_at``, else the record's Kafka timestamp."""
    stated = _iso(iso)
    if stated is not None:
        return stated
    if timestamp_ms is None or timestamp_ms < 0:
        return None
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def _student(key: bytes | None, event: Any) -> str | None:
    """The record's key (the student id, when it could be read), else the event's."""
    if key:
        return key.decode("utf-8", "replace")
    data = event.get("data") if isinstance(event, dict) else None
    return _text(data.get("student_id")) if isinstance(data, dict) else None


def dead_letter(record: RawRecord) -> dict[str, Any]:
    """One dead letter, read as docs/events.md describes the two shapes: the service's
    (a CloudEvent whose data has ``reason``, ``source_topic``, ``dead_lettered_at`` and
    ``original``) or daprd's (the message as it was on its source topic, named by the
    ``__topic`` header; no reason: the service's ``student_retry`` log lines say why)."""
    body = _json(record.value)
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict) and "reason" in data and "original" in data:
        written_by, reason, event = "service", str(data["reason"]), data["original"]
        source_topic = _text(data.get("source_topic"))
        at = _when(data.get("dead_lettered_at"), record.timestamp_ms)
    else:
        headers = dict(record.headers)
        topic = headers.get("__topic")
        written_by, reason, event = "daprd", None, body
        source_topic = topic.decode("utf-8", "replace") if topic else None
        at = _when(None, record.timestamp_ms)
    return {
        "partition": record.partition,
        "offset": record.offset,
        "written_by": written_by,
        "reason": reason,
        "source_topic": source_topic,
        "student_id": _student(record.key, event),
        "event_type": _text(event.get("type")) if isinstance(event, dict) else None,
        "event_id": _text(event.get("id")) if isinstance(event, dict) else None,
        "at": at,
    }


def newest(letters: Iterable[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The ``count`` newest dead letters, newest first (by time, then offset)."""
    floor = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(letters, key=lambda d: (d["at"] or floor, d["offset"]), reverse=True)
    return ordered[:count]


def event_counts(registry: CollectorRegistry = REGISTRY) -> dict[str, Any]:
    """``progress_events_total`` of this process by type and outcome, with the totals an
    operator reads first, and when the process started (``process_start_time_seconds``,
    absent where the platform gives none)."""
    rows = [
        {
            "type": sample.labels["type"],
            "outcome": sample.labels["outcome"],
            "count": int(sample.value),
        }
        for metric in EVENTS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    ]
    rows.sort(key=lambda r: (r["type"], r["outcome"]))
    started = registry.get_sample_value("process_start_time_seconds")
    return {
        "started_at": None if started is None else datetime.fromtimestamp(started, UTC),
        "processed": sum(r["count"] for r in rows if r["outcome"] in PROCESSED),
        "dead_lettered": sum(r["count"] for r in rows if r["outcome"] == DEAD_LETTERED),
        "retried": sum(r["count"] for r in rows if r["outcome"] == RETRIED),
        "events": rows,
    }


def broker_list(setting: str) -> list[str]:
    """``PROGRESS_KAFKA_BROKERS``: host:port entries separated by commas."""
    return [broker.strip() for broker in setting.split(",") if broker.strip()]
