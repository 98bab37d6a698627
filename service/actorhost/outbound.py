"""Performs the actor's side effects that leave the actor: alert rows, outbound messages
(struggle.detected, progress.updated, both keyed by student_id), the read model's
snapshots and error signals to the actors of the student's classes."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import structlog

from actors.effects import AlertCandidate, ErrorSignal
from service.alerts.messages import struggle_payload
from service.alerts.repository import AlertRepository
from service.coalescing import Coalescer
from service.dapr.actor_gateway import ActorGateway
from service.dapr.sidecar import Sidecar
from service.metrics import STRUGGLES_RAISED
from service.readmodel.projection import ProgressProjection
from service.rosters.repository import RosterRepository
from service.settings import Settings

log = structlog.get_logger("outbound")
# progress.updated messages per bulk publish when concurrent turns' messages are sent
# together (a Kafka produce request of ~0.5 MB at most)
PROGRESS_MESSAGES_PER_PUBLISH = 500
# read model snapshots per transaction when concurrent turns' snapshots go together
SNAPSHOTS_PER_WRITE = 500
# error signals of concurrent turns sent together (one roster lookup, a call per class)
SIGNALS_PER_SEND = 500


class Outbound:
    def __init__(
        self,
        settings: Settings,
        sidecar: Sidecar,
        alerts: AlertRepository,
        projection: ProgressProjection,
        rosters: RosterRepository,
        actors: ActorGateway,
    ) -> None:
        self._settings = settings
        self._rosters = rosters
        self._actors = actors
        self._sidecar = sidecar
        self._alerts = alerts
        self._progress: Coalescer[tuple[str, dict[str, Any]]] = Coalescer(
            self._send_progress, PROGRESS_MESSAGES_PER_PUBLISH
        )
        self._snapshots: Coalescer[dict[str, Any]] = Coalescer(
            projection.write, SNAPSHOTS_PER_WRITE
        )
        self._signals: Coalescer[ErrorSignal] = Coalescer(self._send_signals, SIGNALS_PER_SEND)

    async def project_progress(self, snapshots: list[dict[str, Any]]) -> None:
        """The read model's rows for these students, written in one transaction with the
        snapshots of the turns that write at the same time (service/coalescing.py)."""
        await self._snapshots.submit(snapshots)

    async def raise_alerts(self, alerts: list[AlertCandidate]) -> None:
        """Insert each alert and publish struggle.detected (one bulk publish) for those now
        in the table; an alert blocked by an unresolved one of the same (student, kind,
        topic) is neither stored nor published."""
        raised = []
        for alert, in_table in zip(
            alerts, await self._alerts.insert_if_absent(alerts), strict=True
        ):
            if in_table:
                raised.append(alert)
            else:
                log.info(
                    "alert_suppressed",
                    student_id=alert.student_id,
                    class_id=alert.class_id,
                    kind=alert.kind,
                    topic_id=alert.topic_id,
                    reason="an unresolved alert is open",
                )
        await self._sidecar.publish_bulk(
            self._settings.struggle_topic, [(a.key, struggle_payload(a)) for a in raised]
        )
        for alert in raised:
            STRUGGLES_RAISED.labels(kind=alert.kind).inc()
            log.info(
                "alert_raised",
                student_id=alert.student_id,
                class_id=alert.class_id,
                kind=alert.kind,
                topic_id=alert.topic_id,
                alert_id=alert.id,
            )

    async def signal_errors(self, signals: list[ErrorSignal]) -> None:
        """Each student's signals to the actor of every class they are enrolled in, with
        the class's size (the share of a misconception is of the class as enrolled now);
        sent with the signals of the turns that signal at the same time: one roster
        lookup, one call per class (service/coalescing.py)."""
        await self._signals.submit(signals)

    async def _send_signals(self, signals: list[ErrorSignal]) -> None:
        classes = await self._rosters.classes_of(sorted({s.student_id for s in signals}))
        per_class: dict[str, list[ErrorSignal]] = defaultdict(list)
        sizes: dict[str, int] = {}
        for signal in signals:
            for class_id, size in classes.get(signal.student_id, {}).items():
                per_class[class_id].append(signal)
                sizes[class_id] = size
        await asyncio.gather(
            *(
                self._actors.record_class_signals(
                    class_id,
                    json.dumps(
                        {
                            "class_size": sizes[class_id],
                            "signals": [s.model_dump(mode="json") for s in mine],
                        }
                    ),
                )
                for class_id, mine in per_class.items()
            )
        )

    async def publish_progress(self, payloads: list[dict[str, Any]]) -> None:
        """progress.updated, one message per changed event, keyed by student; sent in
        one bulk publish with those of the turns that publish at the same time
        (service/coalescing.py). Returns when they are out."""
        await self._progress.submit([(str(p["student_id"]), p) for p in payloads])

    async def _send_progress(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        await self._sidecar.publish_bulk(self._settings.progress_topic, messages)
