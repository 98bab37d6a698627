"""Reads Kafka directly for ``GET /ops/intake``: each listed topic's partitions with their
log start and end offsets and the consumer group's commits, and the newest records of
the dead-letter topic. Events never go this way (daprd consumes and publishes them);
this is a short-lived read-only client per request, bounded by
``PROGRESS_KAFKA_TIMEOUT_S``."""

from __future__ import annotations

import asyncio
import ssl
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from service.ops_intake import PartitionOffsets, RawRecord, broker_list
from service.settings import Settings

CLIENT_ID = "progress-service-ops"


class KafkaUnavailable(Exception):
    """The brokers did not answer in time, or refused (the message says which)."""


@dataclass(frozen=True)
class KafkaReading:
    offsets: list[PartitionOffsets]
    dead_letters: list[RawRecord]


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """TLS for SSL and SASL_SSL: the configured CA (else the system's), the client's
    certificate for mTLS, and no verification only when asked."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = str(settings.kafka_ca_file) if settings.kafka_ca_file else None
    context = ssl.create_default_context(cafile=cafile)
    if settings.kafka_cert_file:
        key = str(settings.kafka_key_file) if settings.kafka_key_file else None
        context.load_cert_chain(str(settings.kafka_cert_file), key)
    if settings.kafka_tls_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def client_options(settings: Settings) -> dict[str, Any]:
    """The connection options both clients share."""
    options: dict[str, Any] = {
        "bootstrap_servers": broker_list(settings.kafka_brokers),
        "client_id": CLIENT_ID,
        "security_protocol": settings.kafka_security_protocol,
        "ssl_context": ssl_context(settings),
        "request_timeout_ms": int(settings.kafka_timeout_s * 1000),
    }
    if settings.kafka_security_protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=password.get_secret_value() if password else None,
        )
    return options


async def read_intake(
    settings: Settings, group: str, topics: list[str], dead_letter_topic: str, last: int
) -> KafkaReading:
    """Offsets of ``topics`` (with ``group``'s commits) and up to ``last`` records from
    the end of each partition of ``dead_letter_topic`` (which is among ``topics``).
    Raises KafkaUnavailable when the brokers do not answer within the timeout."""
    timeout = settings.kafka_timeout_s
    try:
        async with asyncio.timeout(timeout):
            return await _read(client_options(settings), group, topics, dead_letter_topic, last)
    except TimeoutError as exc:
        raise KafkaUnavailable(f"the brokers did not answer within {timeout:g} s") from exc
    except (KafkaError, OSError) as exc:  # ssl.SSLError is an OSError
        raise KafkaUnavailable(f"the brokers refused: {exc!r}") from exc


async def _read(
    options: dict[str, Any], group: str, topics: list[str], dead_topic: str, last: int
) -> KafkaReading:
    async with AsyncExitStack() as stack:
        consumer = AIOKafkaConsumer(enable_auto_commit=False, **options)
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        admin = AIOKafkaAdminClient(**options)
        await admin.start()
        stack.push_async_callback(admin.close)

        partitions = await _partitions(admin, topics)
        starts = await consumer.beginning_offsets(partitions) if partitions else {}
        ends = await consumer.end_offsets(partitions) if partitions else {}
        committed = await _committed(admin, group)
        offsets = [
            PartitionOffsets(tp.topic, tp.partition, starts[tp], ends[tp], committed.get(tp))
            for tp in partitions
        ]
        wanted = [p for p in offsets if p.topic == dead_topic and p.log_end > p.log_start]
        records = await _last_records(consumer, wanted, last) if last > 0 else []
        return KafkaReading(offsets, records)


async def _partitions(admin: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    """The partitions of ``topics`` the brokers know, in order. Asked as "all topics":
    a metadata request naming a topic creates it on brokers that auto-create topics."""
    known = {t["topic"]: t["partitions"] for t in await admin.describe_topics(None)}
    return [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(part["partition"] for part in known.get(topic, ()))
    ]


async def _committed(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    """The group's committed offsets (none at all for a group that never committed)."""
    found = await admin.list_consumer_group_offsets(group)
    return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}


async def _last_records(
    consumer: AIOKafkaConsumer, partitions: list[PartitionOffsets], last: int
) -> list[RawRecord]:
    """Up to ``last`` records from the end of each partition (read up to the end offsets
    taken before)."""
    tps = {TopicPartition(p.topic, p.partition): p for p in partitions}
    if not tps:
        return []
    consumer.assign(list(tps))
    for tp, p in tps.items():
        consumer.seek(tp, max(p.log_start, p.log_end - last))
    records: list[RawRecord] = []
    pending = set(tps)
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=100)
        for tp, items in batch.items():
            records.extend(_raw(tp.partition, r) for r in items if r.offset < tps[tp].log_end)
        pending = {tp for tp in pending if await consumer.position(tp) < tps[tp].log_end}
    return records


def _raw(partition: int, record: Any) -> RawRecord:
    headers = [(str(k), bytes(v or b"")) for k, v in record.headers or ()]
    return RawRecord(partition, record.offset, record.timestamp, record.key, record.value, headers)
