"""The subscriptions daprd reads from /dapr/subscribe (no stack needed)."""

import warnings

from service.main import create_app
from service.settings import Settings


def test_every_inbound_topic_is_bulk_subscribed_on_every_lane_with_the_dead_letter_topic() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    settings = Settings(INTAKE_LANES=2, bulk_max_messages=150, bulk_max_await_ms=15)
    subs = TestClient(create_app(settings)).get("/dapr/subscribe").json()  # no lifespan
    assert {(s["pubsubname"], s["topic"]) for s in subs} == {
        (lane, topic)
        for lane in ("kafka-intake-1", "kafka-intake-2")
        for topic in ("learning.events", "exercise.events", "code.events")
    }
    for s in subs:
        assert (s["route"], s["deadLetterTopic"]) == ("/events/batch", "progress.deadletter")
        assert s["bulkSubscribe"] == {
            "enabled": True,
            "maxMessagesCount": 150,
            "maxAwaitDurationMs": 15,
        }
