"""The subscriptions daprd reads from /dapr/subscribe (no stack needed)."""

import warnings

from service.main import create_app
from service.settings import Settings


def test_every_inbound_topic_is_subscribed_with_the_dead_letter_topic() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    app = create_app(Settings())
    subs = TestClient(app).get("/dapr/subscribe").json()  # lifespan not started
    assert {(s["topic"], s["route"], s["deadLetterTopic"]) for s in subs} == {
        ("learning.events", "/events/learning.events", "progress.deadletter"),
        ("exercise.events", "/events/exercise.events", "progress.deadletter"),
        ("code.events", "/events/code.events", "progress.deadletter"),
    }
    assert all(s["pubsubname"] == "kafka-pubsub" for s in subs)
