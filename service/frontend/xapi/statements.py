"""Taking a request's statements: all or nothing, once each.

1. Every statement is checked (xAPI, the mapping) before anything is written: one bad
   statement refuses the request (400 naming its index and field).
2. In one database transaction each statement id is recorded with its fingerprint; an
   id already recorded with the same fingerprint is a duplicate (accepted, not sent
   again), with another fingerprint a 409 that refuses the request.
3. The mapped events are published through Dapr to their family's topic, keyed by
   student, as CloudEvents whose id and ``data.event_id`` are the statement id, so
   they take the path of every other event (ordering, dedupe, alerts, class views).
4. The transaction commits only after the publish succeeded. If the publish fails
   nothing is recorded (503: the producer sends again); if the commit fails after a
   publish, the events are out and the producer's retry publishes them again, which the
   students' actors count once (the event id is the statement id).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
import structlog

from actors.events import PoisonEvent, parse_event
from service.errors import Conflict, Unavailable
from service.frontend.xapi.mapping import Ignored, Mapped, Mapping, StatementRefused, map_statement
from service.frontend.xapi.validation import BadStatement, Checked
from service.metrics import XAPI_STATEMENTS

log = structlog.get_logger("xapi")
CLOUDEVENTS_JSON = "application/cloudevents+json"


class Publisher(Protocol):
    async def publish_bulk(
        self, topic: str, messages: list[tuple[str, dict[str, Any]]], content_type: str = ...
    ) -> None: ...


@dataclass(frozen=True)
class Planned:
    checked: Checked
    outcome: Mapped | Ignored


@dataclass
class Answer:
    """What a request did: the statement ids in request order, and per outcome how many
    (``mapped``, ``ignored``, ``duplicate``)."""

    ids: list[str]
    counts: Counter[str] = field(default_factory=Counter)

    def header(self) -> str:
        return ", ".join(f"{k}={self.counts.get(k, 0)}" for k in ("mapped", "ignored", "duplicate"))


def plan(checked: list[Checked], mapping: Mapping, received: datetime) -> list[Planned]:
    """Each statement's event (validated as the intake will validate it) or why it is
    ignored; BadStatement for one the mapping refuses."""
    out = []
    for i, c in enumerate(checked):
        try:
            outcome = map_statement(c.statement, mapping, received)
        except StatementRefused as exc:
            raise BadStatement(i, exc.field, exc.reason) from exc
        if isinstance(outcome, Mapped):
            try:
                parse_event(outcome.type, outcome.data)
            except PoisonEvent as exc:
                raise BadStatement(
                    i, "statement", f"maps to an invalid event: {exc.reason}"
                ) from exc
        out.append(Planned(c, outcome))
    return out


def cloud_event(planned: Planned, mapped: Mapped, producer: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": planned.checked.id,
        "source": f"xapi:{producer}",
        "type": mapped.type,
        "datacontenttype": "application/json",
        "data": mapped.data,
    }


class StatementIntake:
    def __init__(
        self, pool: asyncpg.Pool, sidecar: Publisher, mapping: Mapping, topics: dict[str, str]
    ) -> None:
        self._pool = pool
        self._sidecar = sidecar
        self.mapping = mapping
        self._topics = topics  # event family ("exercise") -> Kafka topic

    async def take(self, checked: list[Checked], producer: str) -> Answer:
        planned = plan(checked, self.mapping, datetime.now(UTC))
        answer = Answer([p.checked.id for p in planned])
        try:
            conn = await self._pool.acquire()
        except (OSError, asyncpg.PostgresError) as exc:
            raise Unavailable(f"database: {exc!r}") from exc
        try:
            async with conn.transaction():
                fresh = await self._record(conn, planned, producer)
                await self._publish([p for p in planned if p.checked.id in fresh], producer)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise Unavailable(f"database: {exc!r}") from exc
        finally:
            await self._pool.release(conn)
        for p in planned:
            if p.checked.id not in fresh:
                outcome = "duplicate"
            else:
                outcome = "mapped" if isinstance(p.outcome, Mapped) else "ignored"
            answer.counts[outcome] += 1
            XAPI_STATEMENTS.labels(outcome=outcome).inc()
            if isinstance(p.outcome, Ignored) and outcome == "ignored":
                log.info(
                    "xapi_statement_ignored", statement_id=p.checked.id, reason=p.outcome.reason
                )
        return answer

    async def _record(
        self, conn: asyncpg.Connection, planned: list[Planned], producer: str
    ) -> set[str]:
        """Record the statement ids; the ids new to the service. Conflict (the request is
        refused) when a known id comes with other content."""
        rows = await conn.fetch(
            """
            INSERT INTO xapi_statements (statement_id, fingerprint, producer, outcome)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
            ON CONFLICT (statement_id) DO NOTHING
            RETURNING statement_id::text
            """,
            [p.checked.id for p in planned],
            [p.checked.fingerprint for p in planned],
            [producer] * len(planned),
            [p.outcome.type if isinstance(p.outcome, Mapped) else "ignored" for p in planned],
        )
        fresh = {r[0] for r in rows}
        known = [p for p in planned if p.checked.id not in fresh]
        if known:
            stored = dict(
                await conn.fetch(
                    "SELECT statement_id::text, fingerprint FROM xapi_statements "
                    "WHERE statement_id = ANY($1::uuid[])",
                    [p.checked.id for p in known],
                )
            )
            for p in known:
                if stored.get(p.checked.id) != p.checked.fingerprint:
                    XAPI_STATEMENTS.labels(outcome="conflict").inc()
                    raise Conflict(
                        f"statement {p.checked.id} was received before with other content",
                        {"statement_id": p.checked.id},
                    )
        return fresh

    async def _publish(self, planned: list[Planned], producer: str) -> None:
        by_topic: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for p in planned:
            if isinstance(p.outcome, Mapped):
                topic = self._topics[p.outcome.type.split(".", 1)[0]]
                key = str(p.outcome.data["student_id"])
                by_topic.setdefault(topic, []).append((key, cloud_event(p, p.outcome, producer)))
        for topic, messages in by_topic.items():
            await self._sidecar.publish_bulk(topic, messages, CLOUDEVENTS_JSON)
