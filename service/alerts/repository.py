"""Reads and writes of the struggle alert table, in SQLAlchemy Core."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from actors.effects import AlertCandidate, with_current_names
from actors.vocabulary import ALERT_KINDS, UNRESOLVED
from service import cursors
from service.alerts.table import StruggleAlert
from service.errors import Conflict, NotFound
from service.metrics import ACKNOWLEDGE_SECONDS, ALERTS_ACKNOWLEDGED, ALERTS_RESOLVED
from service.rosters.scope import EVERYONE, Scope, of_class

ALERTS = StruggleAlert.__table__  # type: ignore[attr-defined]
# pg_advisory_xact_lock key for "an alert is being inserted or changed" (any fixed bigint).
# Every transaction that inserts an alert or changes its status takes it first, so the
# change_seq values a trigger draws (migration 0013) are drawn in commit order: a stream
# that read up to N never meets a change committed later with a number below N. Taken
# before any row lock, so it cannot deadlock with them.
CHANGE_LOCK = 0x414C45525453


async def _lock_changes(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_LOCK})


class AlertNotFound(NotFound):
    def __init__(self, alert_id: str) -> None:
        super().__init__(f"no struggle alert {alert_id}")


class TransitionRefused(Conflict):
    """The alert's status does not allow the requested change."""


@dataclass(frozen=True)
class AlertFilter:
    scope: Scope = EVERYONE
    class_id: str | None = None
    status: str | None = None
    kind: str | None = None
    student_ids: tuple[str, ...] = ()
    topic_id: str | None = None
    since: datetime | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the last row of the previous page in (detected_at, id) order."""

    detected_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        return cursors.encode([self.detected_at.isoformat(), str(self.id)])

    @classmethod
    def decode(cls, text_value: str) -> Cursor:
        try:
            at, alert_id = cursors.decode(text_value)
            return cls(datetime.fromisoformat(at), uuid.UUID(alert_id))
        except (ValueError, TypeError) as exc:
            raise ValueError("cursor is not one this API issued") from exc


def _row(row: Any) -> dict[str, Any]:
    """An alert row as the API and the stream show it: its rule's thresholds under
    today's names even when a replica of the release before wrote it during an upgrade
    (after migration 0012 renamed the rows already there)."""
    found = dict(row._mapping)
    if "rule" in found:
        found["rule"] = with_current_names(found["rule"])
    return found


def _feedback(kind: str, row: Any) -> dict[str, Any]:
    if row is None:
        return {
            "kind": kind,
            "raised": 0,
            "acknowledged": 0,
            "resolved_addressed": 0,
            "resolved_not_useful": 0,
            "not_useful_rate": None,
            "median_minutes_to_acknowledge": None,
        }
    resolved = row.resolved_addressed + row.resolved_not_useful
    median = row.median_seconds
    return {
        "kind": kind,
        "raised": row.raised,
        "acknowledged": row.acknowledged,
        "resolved_addressed": row.resolved_addressed,
        "resolved_not_useful": row.resolved_not_useful,
        "not_useful_rate": round(row.resolved_not_useful / resolved, 3) if resolved else None,
        "median_minutes_to_acknowledge": None if median is None else round(float(median) / 60, 1),
    }


class AlertRepository:
    """Every read and write of the struggle alert table: the actors' inserts (through
    service/actorhost/outbound.py), the teachers' pages and lifecycle changes, the stream's reads,
    erasure and the metrics."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def insert_if_absent(self, alerts: list[AlertCandidate]) -> list[bool]:
        """Insert each alert unless an unresolved one with the same (student, kind,
        topic) exists, in one transaction. For each: True when the row with its id is in
        the table afterwards and unresolved (just inserted, or inserted by an earlier
        attempt of the same effect that may not have been published): a repeated effect
        never announces an alert a teacher has resolved since."""
        found = []
        async with self._engine.begin() as conn:
            await _lock_changes(conn)
            for alert in alerts:
                params = {
                    "id": uuid.UUID(alert.id),
                    "student_id": alert.student_id,
                    "class_id": alert.class_id,
                    "kind": alert.kind,
                    "topic_id": alert.topic_id,
                    "severity": alert.severity,
                    "details": _json(alert.details),
                    "detected_at": alert.detected_at,
                    "trigger_event_id": alert.trigger_event_id,
                    "rule": None if alert.rule is None else _json(alert.rule),
                    "evidence": None if alert.evidence is None else _json(alert.evidence),
                }
                # no conflict target: the primary key and the one-unresolved-alert index
                insert_row = (
                    pg_insert(ALERTS)
                    .values(**params)
                    .on_conflict_do_nothing()
                    .returning(ALERTS.c.id)
                )
                if (await conn.execute(insert_row)).first() is not None:
                    found.append(True)
                else:
                    still_open = select(ALERTS.c.id).where(
                        ALERTS.c.id == params["id"], ALERTS.c.status.in_(UNRESOLVED)
                    )
                    found.append((await conn.execute(still_open)).first() is not None)
        return found

    async def open_count(self, student_id: str) -> int:
        async with self._engine.connect() as conn:
            query = select(func.count()).where(
                ALERTS.c.student_id == student_id, ALERTS.c.status.in_(UNRESOLVED)
            )
            return int((await conn.execute(query)).scalar_one())

    async def page(
        self, filters: AlertFilter, cursor: Cursor | None, limit: int
    ) -> tuple[list[dict[str, Any]], Cursor | None]:
        """Newest first by (detected_at, id). Keyset pagination: rows inserted while a
        client pages never shift the pages it has not read yet (no gaps, no repeats)."""
        query = select(ALERTS).where(filters.scope.alerts(ALERTS))
        if filters.class_id is not None:
            query = query.where(of_class(ALERTS, filters.class_id))
        if filters.status:
            query = query.where(ALERTS.c.status == filters.status)
        if filters.kind:
            query = query.where(ALERTS.c.kind == filters.kind)
        if filters.student_ids:
            query = query.where(ALERTS.c.student_id.in_(filters.student_ids))
        if filters.topic_id:
            query = query.where(ALERTS.c.topic_id == filters.topic_id)
        if filters.since:
            query = query.where(ALERTS.c.detected_at >= filters.since)
        if filters.updated_since:
            query = query.where(ALERTS.c.updated_at >= filters.updated_since)
        if cursor is not None:
            query = query.where(
                tuple_(ALERTS.c.detected_at, ALERTS.c.id) < tuple_(cursor.detected_at, cursor.id)
            )
        query = query.order_by(ALERTS.c.detected_at.desc(), ALERTS.c.id.desc()).limit(limit + 1)
        async with self._engine.connect() as conn:
            rows = [_row(r) for r in await conn.execute(query)]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1]["detected_at"], rows[-1]["id"]) if more else None
        return rows, next_cursor

    async def get(self, alert_id: uuid.UUID, scope: Scope = EVERYONE) -> dict[str, Any]:
        query = select(ALERTS).where(ALERTS.c.id == alert_id, scope.alerts(ALERTS))
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise AlertNotFound(str(alert_id))
        return _row(row)

    async def changed_after(
        self,
        change_seq: int,
        scope: Scope = EVERYONE,
        class_id: str | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Alerts whose last change (raised, acknowledged, resolved) is after
        ``change_seq``, in the order of those changes, that ``scope`` reaches (and, with
        ``class_id``, about that class: as the list's filter), scoped when read: a stream
        follows roster changes made while it is open. An alert changed twice since is
        one row, in its current state."""
        query = select(ALERTS).where(ALERTS.c.change_seq > change_seq, scope.alerts(ALERTS))
        if class_id is not None:
            query = query.where(of_class(ALERTS, class_id))
        query = query.order_by(ALERTS.c.change_seq).limit(limit)
        async with self._engine.connect() as conn:
            return [_row(r) for r in await conn.execute(query)]

    async def open_by_kind(self) -> dict[str, int]:
        """Unresolved alerts per kind (every kind present, 0 when none)."""
        query = (
            select(ALERTS.c.kind, func.count())
            .where(ALERTS.c.status.in_(UNRESOLVED))
            .group_by(ALERTS.c.kind)
        )
        async with self._engine.connect() as conn:
            counts = {kind: int(n) for kind, n in await conn.execute(query)}
        return {kind: counts.get(kind, 0) for kind in ALERT_KINDS}

    async def feedback(
        self, scope: Scope, class_id: str | None, since: datetime
    ) -> list[dict[str, Any]]:
        """Per kind (every kind, zeros when none), of the alerts detected at or after
        ``since`` of the students ``scope`` reaches (and of ``class_id``'s students):
        raised, acknowledged (ever, including those resolved since), resolved as addressed
        and as not useful, the not-useful share of those resolved, and the median time
        from insertion to acknowledgement. docs/api.md, "Rule feedback"."""
        acked = ALERTS.c.acknowledged_at.is_not(None)
        resolved = ALERTS.c.status == "resolved"
        seconds_to_ack = func.extract("epoch", ALERTS.c.acknowledged_at - ALERTS.c.created_at)
        query = (
            select(
                ALERTS.c.kind,
                func.count().label("raised"),
                func.count().filter(acked).label("acknowledged"),
                func.count()
                .filter(resolved, ALERTS.c.resolution_reason == "addressed")
                .label("resolved_addressed"),
                func.count()
                .filter(resolved, ALERTS.c.resolution_reason == "not_useful")
                .label("resolved_not_useful"),
                func.percentile_cont(0.5)
                .within_group(seconds_to_ack)
                .filter(acked)
                .label("median_seconds"),
            )
            .where(ALERTS.c.detected_at >= since, scope.alerts(ALERTS))
            .group_by(ALERTS.c.kind)
        )
        if class_id is not None:
            query = query.where(of_class(ALERTS, class_id))
        async with self._engine.connect() as conn:
            found = {r.kind: r for r in await conn.execute(query)}
        return [_feedback(kind, found.get(kind)) for kind in ALERT_KINDS]

    async def latest_change(self) -> int:
        """The change_seq of the latest change committed (0: none)."""
        async with self._engine.connect() as conn:
            value = (await conn.execute(select(func.max(ALERTS.c.change_seq)))).scalar_one()
        return int(value or 0)

    async def acknowledge(
        self, alert_id: uuid.UUID, who: str, scope: Scope = EVERYONE
    ) -> dict[str, Any]:
        """open -> acknowledged. Idempotent; refused for a resolved alert. An alert out
        of ``scope`` is not found."""
        async with self._engine.begin() as conn:
            await _lock_changes(conn)
            row = await self._locked(conn, alert_id, scope)
            if row["status"] == "resolved":
                raise TransitionRefused("a resolved alert cannot be acknowledged")
            if row["status"] == "acknowledged":
                return row
            update = (
                ALERTS.update()
                .where(ALERTS.c.id == alert_id)
                .values(status="acknowledged", acknowledged_by=who, acknowledged_at=func.now())
                .returning(*ALERTS.c)
            )
            changed = _row((await conn.execute(update)).one())
        ALERTS_ACKNOWLEDGED.labels(changed["kind"]).inc()
        waited = changed["acknowledged_at"] - changed["created_at"]
        ACKNOWLEDGE_SECONDS.labels(changed["kind"]).observe(waited.total_seconds())
        return changed

    async def resolve(
        self, alert_id: uuid.UUID, who: str, reason: str, scope: Scope = EVERYONE
    ) -> dict[str, Any]:
        """open|acknowledged -> resolved. Idempotent: resolving again returns the alert
        as first resolved. An alert out of ``scope`` is not found."""
        async with self._engine.begin() as conn:
            await _lock_changes(conn)
            row = await self._locked(conn, alert_id, scope)
            if row["status"] == "resolved":
                return row
            update = (
                ALERTS.update()
                .where(ALERTS.c.id == alert_id)
                .values(
                    status="resolved",
                    resolved_by=who,
                    resolved_at=func.now(),
                    resolution_reason=reason,
                )
                .returning(*ALERTS.c)
            )
            changed = _row((await conn.execute(update)).one())
        ALERTS_RESOLVED.labels(changed["kind"], reason).inc()
        return changed

    async def delete_student(self, student_id: str) -> int:
        """Erasure: the student's alerts go, and the class alerts that list them no longer
        do (their id and event leave ``details`` and ``evidence``). How many of the
        student's own alerts went."""
        listing = ALERTS.c.details["students"].contains([student_id])
        async with self._engine.begin() as conn:
            result = await conn.execute(ALERTS.delete().where(ALERTS.c.student_id == student_id))
            found = await conn.execute(
                select(ALERTS.c.id, ALERTS.c.details, ALERTS.c.evidence)
                .where(ALERTS.c.class_id.is_not(None), listing)
                .with_for_update()
            )
            for alert_id, details, evidence in list(found):
                await conn.execute(
                    ALERTS.update()
                    .where(ALERTS.c.id == alert_id)
                    .values(
                        details=_without(details, student_id),
                        evidence=_without(evidence or {}, student_id),
                    )
                )
        return int(result.rowcount or 0)

    async def _locked(
        self, conn: AsyncConnection, alert_id: uuid.UUID, scope: Scope
    ) -> dict[str, Any]:
        query = (
            select(ALERTS)
            .where(ALERTS.c.id == alert_id, scope.alerts(ALERTS))
            .with_for_update(of=ALERTS)
        )
        row = (await conn.execute(query)).first()
        if row is None:
            raise AlertNotFound(str(alert_id))
        return _row(row)


def _json(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as JSONB takes it (datetimes and other non-JSON values as strings)."""
    converted: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return converted


def _without(listed: dict[str, Any], student_id: str) -> dict[str, Any]:
    """A class alert's ``details`` or ``evidence`` without ``student_id``: out of
    ``students``, and its event out of ``event_ids`` (the two lists run in step)."""
    students = list(listed.get("students", []))
    if student_id not in students:
        return listed
    at = students.index(student_id)
    kept = {**listed, "students": students[:at] + students[at + 1 :]}
    if "event_ids" in listed:
        events = list(listed["event_ids"])
        kept["event_ids"] = events[:at] + events[at + 1 :]
    if "affected" in listed:
        kept["affected"] = len(kept["students"])
    return kept
