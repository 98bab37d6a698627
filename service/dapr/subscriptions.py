"""What daprd reads from /dapr/subscribe: every inbound topic on every intake lane,
delivered in bulk to one route (served by service/dapr/callbacks.py), with the
dead-letter topic. (DaprApp.subscribe has no bulk option, so the list is served here.)"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from service.dapr.callbacks import BATCH_ROUTE
from service.settings import Settings


def subscriptions(settings: Settings) -> list[dict[str, Any]]:
    """One bulk subscription per (intake lane, inbound topic)."""
    return [
        {
            "pubsubname": pubsub,
            "topic": topic,
            "route": BATCH_ROUTE,
            "deadLetterTopic": settings.deadletter_topic,
            "bulkSubscribe": {
                "enabled": True,
                "maxMessagesCount": settings.bulk_max_messages,
                "maxAwaitDurationMs": settings.bulk_max_await_ms,
            },
        }
        for pubsub in settings.intake_pubsubs
        for topic in settings.inbound_topics
    ]


def install_subscriptions(app: FastAPI, settings: Settings) -> None:
    """Serve ``subscriptions(settings)`` at GET /dapr/subscribe."""
    subs = subscriptions(settings)

    @app.get("/dapr/subscribe", include_in_schema=False)
    async def dapr_subscribe() -> list[dict[str, Any]]:
        return subs
