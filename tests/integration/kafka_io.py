"""Kafka for tests and the benchmark: publish into it as producers do, and read what the
service wrote (the service itself talks to Kafka only through Dapr)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True)
class Message:
    """One Kafka record as read: its key, value, headers, and the value parsed as JSON
    (None when it is not JSON)."""

    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    json: Any


def _message(key: bytes | None, value: bytes | None, headers: Any) -> Message:
    raw = value or b""
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        parsed = None
    return Message(key, raw, {k: bytes(v or b"") for k, v in headers or ()}, parsed)


@dataclass(frozen=True)
class DeadLetter:
    """A record of the dead-letter topic read as docs/events.md describes it: who wrote
    it, why (``reason``: the service's records only), and what to republish where."""

    written_by: str  # "service" or "daprd"
    reason: str | None
    source_topic: str | None
    key: bytes | None
    event: bytes  # the event as it was on its source topic (the service re-serialises it)


def dead_letter(message: Message) -> DeadLetter:
    """The service's record is a CloudEvent whose ``data`` has ``reason`` and
    ``original``; any other record was written by daprd: the message as it was on its
    source topic, named by daprd's ``__topic`` header."""
    data = message.json.get("data") if isinstance(message.json, dict) else None
    if isinstance(data, dict) and "reason" in data and "original" in data:
        return DeadLetter(
            "service",
            data["reason"],
            data.get("source_topic"),
            message.key,
            json.dumps(data["original"]).encode(),
        )
    topic = message.headers.get("__topic")
    return DeadLetter(
        "daprd", None, topic.decode() if topic is not None else None, message.key, message.value
    )


class TopicReader:
    """Reads ``topic`` from the offsets it had when ``start`` was called."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.topic = topic
        self._buffer: list[Message] = []

    async def _partitions(self) -> list[int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            [described] = await admin.describe_topics([self.topic])
        finally:
            await admin.close()
        partitions = sorted(p["partition"] for p in described["partitions"])
        if not partitions:
            raise RuntimeError(f"topic {self.topic} has no partitions (does it exist?)")
        return partitions

    async def start(self, from_beginning: bool = False) -> None:
        tps = [TopicPartition(self.topic, p) for p in await self._partitions()]
        await self._consumer.start()

        self._consumer.assign(tps)
        if from_beginning:
            await self._consumer.seek_to_beginning(*tps)
            return
        ends = await self._consumer.end_offsets(tps)
        for tp, offset in ends.items():
            self._consumer.seek(tp, offset)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> tuple[bytes | None, dict[str, Any]]:
        """The first unclaimed record (key, CloudEvent JSON) whose value is a JSON object
        that matches; records read past are kept for later calls."""
        found = await self.wait_for_message(
            lambda m: isinstance(m.json, dict) and match(m.json), timeout
        )
        return found.key, found.json

    async def wait_for_message(
        self, match: Callable[[Message], bool], timeout: float = 30.0
    ) -> Message:
        """The first unclaimed record that matches, whatever its value; records read past
        are kept for later calls."""

        async def scan() -> Message:
            while True:
                for i, message in enumerate(self._buffer):
                    if match(message):
                        del self._buffer[i]
                        return message
                batch = await self._consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    self._buffer.extend(_message(r.key, r.value, r.headers) for r in records)

        return await asyncio.wait_for(scan(), timeout)


class KeyedEvent(Protocol):
    """An event to publish: its Kafka topic, its key and its CloudEvent."""

    @property
    def kafka_topic(self) -> str: ...

    @property
    def student_id(self) -> str: ...

    def cloud_event(self) -> dict[str, Any]: ...


class Publisher:
    """Publishes straight into Kafka, as a producer team's service would (acks=all,
    idempotent), for tests and the benchmark."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, linger_ms=5, acks="all", enable_idempotence=True
        )

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._producer.stop()

    async def send(self, event: KeyedEvent) -> None:
        await self._producer.send(
            event.kafka_topic,
            json.dumps(event.cloud_event()).encode(),
            key=event.student_id.encode(),
        )

    async def send_raw(
        self, topic: str, body: bytes, key: str, headers: dict[str, bytes] | None = None
    ) -> None:
        await self._producer.send(
            topic, body, key=key.encode(), headers=list((headers or {}).items()) or None
        )

    async def flush(self) -> None:
        await self._producer.flush()
