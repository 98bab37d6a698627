"""Queries on the struggle alert table, in one place."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from actors.effects import AlertCandidate

_INSERT = text(
    """
    INSERT INTO struggle_alerts
        (id, student_id, kind, topic_id, severity, details, detected_at, trigger_event_id)
    VALUES (:id, :student_id, :kind, :topic_id, :severity, CAST(:details AS jsonb),
            :detected_at, :trigger_event_id)
    ON CONFLICT DO NOTHING
    RETURNING id
    """
)
_EXISTS = text("SELECT 1 FROM struggle_alerts WHERE id = :id")
_OPEN_COUNT = text(
    "SELECT count(*) FROM struggle_alerts "
    "WHERE student_id = :student_id AND status IN ('open', 'acknowledged')"
)


class AlertStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def insert_if_absent(self, alert: AlertCandidate) -> bool:
        """Insert the alert unless an unresolved one with the same (student, kind,
        topic) exists. True when the row with this id is in the table afterwards (just
        inserted, or inserted by an earlier attempt of the same effect)."""
        params = {
            "id": uuid.UUID(alert.id),
            "student_id": alert.student_id,
            "kind": alert.kind,
            "topic_id": alert.topic_id,
            "severity": alert.severity,
            "details": json.dumps(alert.details),
            "detected_at": alert.detected_at,
            "trigger_event_id": alert.trigger_event_id,
        }
        async with self._engine.begin() as conn:
            inserted = (await conn.execute(_INSERT, params)).first()
            if inserted is not None:
                return True
            return (await conn.execute(_EXISTS, {"id": params["id"]})).first() is not None

    async def open_count(self, student_id: str) -> int:
        async with self._engine.connect() as conn:
            return int((await conn.execute(_OPEN_COUNT, {"student_id": student_id})).scalar_one())
