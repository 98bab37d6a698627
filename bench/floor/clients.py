"""The floor app's calls to daprd, over either transport.

HTTP: keep-alive aiohttp pools, as the service keeps them (two: calls *into* actors on
one without a limit, the actor runtime's state writes and the publishes on another, so
calls into actors can never hold every connection a turn needs). The SDK's own HTTP
client would open a connection per call.

gRPC: the SDK's clients — ``DaprActorGrpcClient`` (``InvokeActor``,
``ExecuteActorStateTransaction``) and the asyncio ``DaprClient`` (``PublishEvent``),
each on its own channel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Protocol

import aiohttp
from dapr.aio.clients import DaprClient
from dapr.clients.grpc.dapr_actor_grpc_client import DaprActorGrpcClient
from dapr.serializers import DefaultJSONSerializer

from bench.floor.actor import ACTOR_TYPE, METHOD
from bench.floor.settings import PUBSUB, FloorSettings

_SERIALIZER = DefaultJSONSerializer()


class CallFailed(RuntimeError):
    """daprd answered a call with an error status."""


class ActorCalls(Protocol):
    async def apply(self, student_id: str, event_id: str) -> None: ...

    async def aclose(self) -> None: ...


class ResultPublisher(Protocol):
    async def publish(self, key: str, payload: bytes) -> None: ...

    async def aclose(self) -> None: ...


def apply_body(event_id: str) -> bytes:
    """The actor method's argument as the SDK's JSON serializer reads it."""
    return json.dumps(event_id).encode()


class HttpPool:
    """One keep-alive connection pool to daprd's HTTP API (``limit`` 0 = unbounded),
    opened on first use inside the running loop."""

    def __init__(self, base_url: str, token: str | None, limit: int = 0) -> None:
        self._base_url = base_url
        self._headers = {"dapr-api-token": token} if token else {}
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                base_url=self._base_url,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=60),
                connector=aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=60),
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        headers = {"content-type": "application/json"} if data is not None else None
        async with self._client().request(
            method, path, data=data, params=params, headers=headers
        ) as response:
            return response.status, await response.read()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class HttpActorCalls:
    def __init__(self, pool: HttpPool) -> None:
        self._pool = pool

    async def apply(self, student_id: str, event_id: str) -> None:
        path = f"/v1.0/actors/{ACTOR_TYPE}/{student_id}/method/{METHOD}"
        status, body = await self._pool.request("POST", path, apply_body(event_id))
        if status != 200:
            raise CallFailed(f"actor call: HTTP {status} {body[:200]!r}")

    async def aclose(self) -> None:
        await self._pool.aclose()


class HttpPublisher:
    def __init__(self, pool: HttpPool, topic: str) -> None:
        self._pool = pool
        self._path = f"/v1.0/publish/{PUBSUB}/{topic}"

    async def publish(self, key: str, payload: bytes) -> None:
        status, body = await self._pool.request(
            "POST", self._path, payload, {"metadata.partitionKey": key}
        )
        if status != 204:
            raise CallFailed(f"publish: HTTP {status} {body[:200]!r}")

    async def aclose(self) -> None:
        await self._pool.aclose()


class GrpcActorCalls:
    def __init__(self, address: str) -> None:
        self._client = DaprActorGrpcClient(address=address)

    async def apply(self, student_id: str, event_id: str) -> None:
        await self._client.invoke_method(ACTOR_TYPE, student_id, METHOD, apply_body(event_id))

    async def aclose(self) -> None:
        await self._client.close()


class GrpcPublisher:
    def __init__(self, address: str, topic: str) -> None:
        self._client = DaprClient(address=address)
        self._topic = topic

    async def publish(self, key: str, payload: bytes) -> None:
        await self._client.publish_event(
            PUBSUB,
            self._topic,
            payload,
            publish_metadata={"partitionKey": key},
            data_content_type="application/json",
        )

    async def aclose(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]


def actor_calls(settings: FloorSettings) -> ActorCalls:
    if settings.clients == "grpc":
        return GrpcActorCalls(settings.dapr_grpc_address)
    return HttpActorCalls(HttpPool(settings.dapr_http_url, settings.dapr_api_token))


def result_publisher(settings: FloorSettings, pool: HttpPool | None) -> ResultPublisher:
    """gRPC, or HTTP over ``pool`` (the actor runtime's pool, as in the service)."""
    if settings.clients == "grpc":
        return GrpcPublisher(settings.dapr_grpc_address, settings.out_topic)
    if pool is None:
        raise ValueError("an HTTP publisher needs a pool")
    return HttpPublisher(pool, settings.out_topic)
