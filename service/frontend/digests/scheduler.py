"""Digests that are due, sent once each, from any number of replicas (docs/digests.md,
"Replicas and failures").

Every replica runs :meth:`Digests.tick` every ``PROGRESS_DIGEST_TICK_S``:

1. For each teacher whose digests are on, the newest period due now
   (service/frontend/digests/periods.py) gets a ``digest_deliveries`` row, inserted with
   ``ON CONFLICT DO NOTHING`` on (teacher, period start): however many replicas see it
   due, one row exists, and a restart finds it there.
2. Due rows are taken with ``FOR UPDATE SKIP LOCKED`` and leased (status ``sending``,
   ``next_attempt_at`` moved a lease ahead) by one replica, which composes and sends
   them, then marks them ``sent``, ``empty`` (nothing to say: not sent), ``skipped``
   (turned off meanwhile) or, on failure, ``pending`` again after an exponential
   backoff, ``failed`` after ``PROGRESS_DIGEST_MAX_ATTEMPTS``. A replica that dies while
   sending leaves a lease that expires: another sends it (at least once, then).

Logs name teachers and deliveries by id only: never an address, URL or what a digest
says.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from service.frontend.digests.compose import DigestInput, compose
from service.frontend.digests.delivery import DeliveryFailed, post_webhook, send_email
from service.frontend.digests.periods import Period, Schedule, latest_due, zone
from service.frontend.digests.store import DigestStore
from service.frontend.digests.tokens import UnsubscribeTokens
from service.metrics import DIGEST_DELIVERIES
from service.settings import Settings

log = structlog.get_logger("digests")
LEASE = timedelta(minutes=5)  # longer than a send may take (its timeout is at most 300 s)
BATCH = 50  # deliveries one replica takes per tick
MAX_BACKOFF = timedelta(hours=6)
UNSUBSCRIBE_PATH = "/notifications/unsubscribe"


def schedule_of(row: dict[str, Any]) -> Schedule:
    return Schedule(
        frequency=row["frequency"],
        time_zone=row["time_zone"],
        send_hour=int(row["send_hour"]),
        weekday=row["weekday"],
        quiet_days=frozenset(int(d) for d in row["quiet_days"]),
    )


def backoff(base_s: float, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base x 2^(attempts-1), capped."""
    return min(timedelta(seconds=base_s * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _now() -> datetime:
    return datetime.now(UTC)


class Digests:
    def __init__(
        self,
        store: DigestStore,
        settings: Settings,
        inactive_after: timedelta,
        webhooks: httpx.AsyncClient,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self._settings = settings
        self._inactive_after = inactive_after
        self._webhooks = webhooks
        self._clock = clock
        self.tokens = UnsubscribeTokens.from_settings(settings)

    def unsubscribe_url(self, teacher_id: str) -> str:
        token = self.tokens.sign(teacher_id)
        return f"{self._settings.public_url}{UNSUBSCRIBE_PATH}?token={token}"

    async def compose(self, teacher_id: str, period: Period) -> dict[str, Any]:
        facts = await self.store.facts(teacher_id, period)
        return compose(
            DigestInput(
                teacher_id=teacher_id,
                period=period,
                classes=facts,
                generated_at=self._clock(),
                inactive_after=self._inactive_after,
                public_url=self._settings.public_url,
                unsubscribe_url=self.unsubscribe_url(teacher_id),
            )
        )

    async def tick_once(self) -> None:
        """One tick, its failures logged (the periodic loop goes on)."""
        try:
            await self.tick()
        except Exception as exc:  # the database away, say: the next tick tries again
            log.warning("digest_tick_failed", error=type(exc).__name__)

    async def tick(self) -> None:
        now = self._clock()
        for row in await self.store.enabled_settings():
            period = latest_due(schedule_of(row), now)
            if period is None:
                continue
            if await self.store.claim(row["teacher_id"], period, row["channel"], now):
                log.info(
                    "digest_due",
                    teacher_id=row["teacher_id"],
                    period_start=period.start.isoformat(),
                    period_kind=period.kind,
                )
        for delivery in await self.store.take_due(now, LEASE, BATCH):
            await self._deliver(delivery)

    async def _deliver(self, delivery: dict[str, Any]) -> None:
        teacher_id = delivery["teacher_id"]
        ids = {"delivery_id": delivery["id"], "teacher_id": teacher_id}
        current = await self.store.get_settings(teacher_id)
        channel = current["channel"] if current else delivery["channel"]
        if current is None or not current["enabled"]:
            await self.store.finish(delivery["id"], "skipped", channel)
            DIGEST_DELIVERIES.labels(channel=channel, outcome="skipped").inc()
            log.info("digest_skipped", reason="turned off", **ids)
            return
        period = _period_of(delivery, current["time_zone"])
        try:
            doc = await self.compose(teacher_id, period)
            if doc["empty"]:
                await self.store.finish(delivery["id"], "empty", channel)
                DIGEST_DELIVERIES.labels(channel=channel, outcome="empty").inc()
                log.info("digest_empty", **ids)
                return
            if channel == "email":
                await send_email(self._settings, current["address"], doc)
            else:
                await post_webhook(self._webhooks, self._settings, current["address"], doc)
        except DeliveryFailed as exc:
            await self._failed(delivery, channel, str(exc))
            return
        await self.store.finish(delivery["id"], "sent", channel)
        DIGEST_DELIVERIES.labels(channel=channel, outcome="sent").inc()
        log.info("digest_sent", channel=channel, attempts=delivery["attempts"], **ids)

    async def _failed(self, delivery: dict[str, Any], channel: str, error: str) -> None:
        attempts = int(delivery["attempts"])
        ids = {"delivery_id": delivery["id"], "teacher_id": delivery["teacher_id"]}
        if attempts >= self._settings.digest_max_attempts:
            await self.store.finish(delivery["id"], "failed", channel, error)
            DIGEST_DELIVERIES.labels(channel=channel, outcome="failed").inc()
            log.warning("digest_failed", channel=channel, attempts=attempts, error=error, **ids)
            return
        at = self._clock() + backoff(self._settings.digest_retry_base_s, attempts)
        await self.store.retry_at(delivery["id"], at, channel, error)
        DIGEST_DELIVERIES.labels(channel=channel, outcome="retried").inc()
        log.warning(
            "digest_retry",
            channel=channel,
            attempts=attempts,
            next_attempt_at=at.isoformat(),
            error=error,
            **ids,
        )


def _period_of(delivery: dict[str, Any], time_zone: str) -> Period:
    tz = zone(time_zone)
    start: datetime = delivery["period_start"]
    end: datetime = delivery["period_end"]
    return Period(
        kind=delivery["period_kind"],
        start=start,
        end=end,
        first_day=start.astimezone(tz).date(),
        last_day=(end.astimezone(tz) - timedelta(days=1)).date(),
        time_zone=time_zone,
    )
