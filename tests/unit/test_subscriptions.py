"""The subscriptions daprd reads from /dapr/subscribe (no stack needed)."""

import warnings

import pytest

from service.dapr.callbacks import actor_method_target
from service.main import create_app
from service.settings import Settings

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx use
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_every_inbound_topic_is_bulk_subscribed_on_every_lane_with_the_dead_letter_topic() -> None:
    settings = Settings(intake_lanes=2, bulk_max_messages=150, bulk_max_await_ms=15)
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


@pytest.mark.parametrize(
    ("method", "path", "target"),
    [
        ("PUT", "/actors/StudentProgressActor/s-1/method/ApplyEvents",
         ("StudentProgressActor", "s-1", "ApplyEvents")),
        ("PUT", "/actors/StudentProgressActor/s-1/method/remind/wake", None),
        ("PUT", "/actors/StudentProgressActor/s-1/method/timer/t", None),
        ("DELETE", "/actors/StudentProgressActor/s-1", None),
        ("POST", "/actors/StudentProgressActor/s-1/method/ApplyEvents", None),
        ("PUT", "/actors/StudentProgressActor//method/ApplyEvents", None),
        ("PUT", "/progress/s-1", None),
    ],
)  # fmt: skip
def test_only_actor_method_calls_take_the_short_path(
    method: str, path: str, target: tuple[str, str, str] | None
) -> None:
    assert actor_method_target(method, path) == target


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/events/batch"),
        ("PUT", "/actors/StudentProgressActor/s-1/method/ApplyEvents"),
        ("PUT", "/actors/StudentProgressActor/s-1/method/remind/wake"),
    ],
)
def test_dapr_calls_without_the_app_token_are_refused(method: str, path: str) -> None:
    client = TestClient(create_app(Settings(APP_API_TOKEN="app-secret")))  # no lifespan
    for headers in ({}, {"dapr-api-token": "wrong"}):
        response = client.request(method, path, content=b"{}", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
