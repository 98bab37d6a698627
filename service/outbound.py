"""Performs the actor's side effects that leave the actor: alert rows and outbound
messages (struggle.detected, progress.updated), both keyed by student_id."""

from __future__ import annotations

from typing import Any

import structlog

from actors.effects import AlertCandidate
from service.alert_store import AlertStore
from service.metrics import STRUGGLES_RAISED
from service.settings import Settings
from service.sidecar import Sidecar

log = structlog.get_logger("outbound")


def struggle_payload(alert: AlertCandidate) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "student_id": alert.student_id,
        "kind": alert.kind,
        "topic_id": alert.topic_id,
        "severity": alert.severity,
        "details": alert.details,
        "detected_at": alert.detected_at.isoformat().replace("+00:00", "Z"),
        "trigger_event_id": alert.trigger_event_id,
        "status": "open",
    }


class Outbound:
    def __init__(self, settings: Settings, sidecar: Sidecar, alerts: AlertStore) -> None:
        self._settings = settings
        self._sidecar = sidecar
        self._alerts = alerts

    async def raise_alert(self, alert: AlertCandidate) -> bool:
        """Insert the alert and publish struggle.detected if it is (now) in the table;
        False when an unresolved alert of the same (student, kind, topic) blocked it."""
        if not await self._alerts.insert_if_absent(alert):
            log.info(
                "alert_suppressed",
                student_id=alert.student_id,
                kind=alert.kind,
                topic_id=alert.topic_id,
                reason="an unresolved alert is open",
            )
            return False
        await self._sidecar.publish(
            self._settings.struggle_topic, struggle_payload(alert), partition_key=alert.student_id
        )
        STRUGGLES_RAISED.labels(kind=alert.kind).inc()
        log.info(
            "alert_raised",
            student_id=alert.student_id,
            kind=alert.kind,
            topic_id=alert.topic_id,
            alert_id=alert.id,
        )
        return True

    async def publish_progress(self, payload: dict[str, Any]) -> None:
        await self._sidecar.publish(
            self._settings.progress_topic, payload, partition_key=str(payload["student_id"])
        )
