"""What the floor app reads from its environment: the driver sets ``FLOOR_*`` per variant,
runtime/app.sh the ports and the two API tokens (as for the service)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

IN_TOPIC = "bench.floor.in"
OUT_TOPIC = "bench.floor.out"
DEADLETTER_TOPIC = "bench.floor.deadletter"
PUBSUB = "kafka-pubsub"  # publishing, as the service does (components/pubsub-kafka.yaml)
BATCH_ROUTE = "/floor/batch"

HOSTS = ("fastapi", "stream")  # dapr-ext-fastapi over HTTP; ActorGrpcHost's stream
CLIENTS = ("http", "grpc")  # keep-alive HTTP pools; the SDK's gRPC clients
DELIVERIES = ("bulk", "stream")  # bulk over the app channel; SubscribeTopicEventsAlpha1


class FloorSettingsError(ValueError):
    pass


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, allowed[0])
    if value not in allowed:
        raise FloorSettingsError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int = 1) -> int:
    raw = env.get(name)
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError as exc:
        raise FloorSettingsError(f"{name} must be a whole number, not {raw!r}") from exc
    if value < low:
        raise FloorSettingsError(f"{name} must be at least {low}, not {value}")
    return value


@dataclass(frozen=True)
class FloorSettings:
    host: str
    clients: str
    delivery: str
    dapr_http_port: int
    dapr_grpc_port: int
    app_grpc_port: int  # the gRPC app channel (stream host only); 0 = none
    dapr_api_token: str | None
    app_api_token: str | None
    lanes: int = 3
    bulk_max_messages: int = 1000
    bulk_max_await_ms: int = 20
    max_turns: int = 64
    state_ttl_s: int = 30 * 24 * 3600
    in_topic: str = IN_TOPIC
    out_topic: str = OUT_TOPIC

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> FloorSettings:
        settings = cls(
            host=_choice(env, "FLOOR_HOST", HOSTS),
            clients=_choice(env, "FLOOR_CLIENTS", CLIENTS),
            delivery=_choice(env, "FLOOR_DELIVERY", DELIVERIES),
            dapr_http_port=_int(env, "DAPR_HTTP_PORT", 3500),
            dapr_grpc_port=_int(env, "DAPR_GRPC_PORT", 50001),
            app_grpc_port=_int(env, "FLOOR_APP_GRPC_PORT", 0, low=0),
            dapr_api_token=env.get("DAPR_API_TOKEN") or None,
            app_api_token=env.get("APP_API_TOKEN") or None,
            # the same variables as the service's, so runtime/render-components.sh renders
            # as many intake components as the app subscribes through
            lanes=_int(env, "PROGRESS_INTAKE_LANES", 3),
            bulk_max_messages=_int(env, "PROGRESS_BULK_MAX_MESSAGES", 1000),
            bulk_max_await_ms=_int(env, "PROGRESS_BULK_MAX_AWAIT_MS", 20),
            max_turns=_int(env, "PROGRESS_INTAKE_MAX_TURNS", 64),
        )
        if settings.host == "stream" and settings.clients != "grpc":
            # ActorGrpcHost wires the actor runtime to its own gRPC client
            raise FloorSettingsError("FLOOR_HOST=stream needs FLOOR_CLIENTS=grpc")
        if settings.host == "stream" and settings.app_grpc_port == 0:
            raise FloorSettingsError("FLOOR_HOST=stream needs FLOOR_APP_GRPC_PORT")
        return settings

    @property
    def dapr_http_url(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http_port}"

    @property
    def dapr_grpc_address(self) -> str:
        return f"127.0.0.1:{self.dapr_grpc_port}"

    @property
    def intake_pubsubs(self) -> list[str]:
        """The intake lanes' components, as runtime/render-components.sh names them."""
        return [f"kafka-intake-{lane}" for lane in range(1, self.lanes + 1)]

    def http_subscriptions(self) -> list[dict[str, Any]]:
        """``/dapr/subscribe``: the input topic in bulk on every lane with the service's
        bulk settings; nothing when messages come over SubscribeTopicEventsAlpha1."""
        if self.delivery != "bulk":
            return []
        return [
            {
                "pubsubname": pubsub,
                "topic": self.in_topic,
                "route": BATCH_ROUTE,
                "deadLetterTopic": DEADLETTER_TOPIC,
                "bulkSubscribe": {
                    "enabled": True,
                    "maxMessagesCount": self.bulk_max_messages,
                    "maxAwaitDurationMs": self.bulk_max_await_ms,
                },
            }
            for pubsub in self.intake_pubsubs
        ]
