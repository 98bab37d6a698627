"""The floor app: ``uvicorn bench.floor.app:app`` (runtime/app.sh with APP_MODULE), one
variant per process, chosen by ``FLOOR_HOST`` / ``FLOOR_CLIENTS`` / ``FLOOR_DELIVERY``
(bench/floor/settings.py).

- ``FLOOR_HOST=fastapi``: the SDK's FastAPI actor host (``DaprActor``) on the HTTP app
  channel; actor method calls and bulk deliveries are answered from the ASGI scope before
  FastAPI, as the service answers them (decision 007).
- ``FLOOR_HOST=stream``: ``ActorGrpcHost`` (``SubscribeActorEventsAlpha1``) with daprd on
  ``--app-protocol grpc``; the gRPC app channel (FLOOR_APP_GRPC_PORT) is this module's own
  server, which also takes the bulk deliveries (``AppCallback.OnBulkTopicEvent``) and
  daprd's health checks. uvicorn then serves only ``/health`` for runtime/app.sh.
- ``FLOOR_DELIVERY=stream``: no declared subscription; the app opens one
  ``SubscribeTopicEventsAlpha1`` stream per intake lane and answers each message, many
  in flight at once (daprd holds a partition's next message until the answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc  # type: ignore[import-untyped]
from dapr.actor.runtime.config import ActorRuntimeConfig
from dapr.actor.runtime.grpc_host import ActorGrpcHost
from dapr.actor.runtime.runtime import ActorRuntime
from dapr.clients.base import DaprActorClientBase
from dapr.clients.grpc._channel import create_aio_channel
from dapr.clients.grpc.dapr_actor_grpc_client import DaprActorGrpcClient
from dapr.ext.fastapi import DaprActor
from dapr.proto import api_service_v1, api_v1, appcallback_service_v1, appcallback_v1
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.floor.actor import FloorActor, actor_factory
from bench.floor.clients import (
    ActorCalls,
    HttpPool,
    ResultPublisher,
    actor_calls,
    result_publisher,
)
from bench.floor.intake import DROP, RETRY, SUCCESS, Entry, Intake, decode
from bench.floor.settings import BATCH_ROUTE, DEADLETTER_TOPIC, FloorSettings
from service.dapr.http_client import PooledActorClient

log = logging.getLogger("floor.app")

_STATUS = {
    SUCCESS: appcallback_v1.TopicEventResponse.SUCCESS,
    RETRY: appcallback_v1.TopicEventResponse.RETRY,
    DROP: appcallback_v1.TopicEventResponse.DROP,
}
_JSON = [(b"content-type", b"application/json")]
# the service's pool for the actor runtime's calls and publishing (dapr_connection_pool)
RUNTIME_POOL = 128
HOST_START_SECONDS = 90.0


@dataclass
class Runtime:
    """What the lifespan builds and the callbacks use."""

    intake: Intake | None = None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def require_intake(self) -> Intake:
        if self.intake is None:
            raise RuntimeError("the floor app is not started")
        return self.intake

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            try:
                await close()
            except Exception as exc:  # shutting down: say so, go on closing the rest
                log.warning("close failed: %r", exc)


async def handle_bulk(intake: Intake, request: dict[str, Any]) -> dict[str, Any]:
    """An HTTP bulk delivery as daprd sends it -> ``{"statuses": [...]}``."""
    entries: list[Entry] = []
    dropped: list[str] = []
    for raw in request.get("entries") or []:
        entry_id = str(raw.get("entryId"))
        event = raw.get("event")
        data = event.get("data") if isinstance(event, dict) else event
        entry = decode(entry_id, data)
        if entry is None:
            dropped.append(entry_id)
        else:
            entries.append(entry)
    statuses = await intake.handle(entries, dropped)
    return {"statuses": [{"entryId": k, "status": v} for k, v in statuses.items()]}


# ---------------------------------------------------------------- HTTP app channel
async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": body})


class FloorCallbacks:
    """ASGI: daprd's actor method calls go to ``ActorRuntime.dispatch`` and its bulk
    deliveries to the intake, both checked for daprd's app token; the rest (health,
    /dapr/config, deactivation, /dapr/subscribe) to FastAPI."""

    def __init__(self, app: ASGIApp, token: str | None, runtime: Runtime) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.runtime = runtime

    def _allowed(self, scope: Scope) -> bool:
        if self.token is None:
            return True
        return any(k == b"dapr-api-token" and v == self.token for k, v in scope["headers"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            parts = path.split("/")
            actor_call = len(parts) == 6 and parts[1] == "actors" and parts[4] == "method"
            if method == "PUT" and actor_call:
                if not self._allowed(scope):
                    await _answer(send, 401, b'{"message":"app token"}')
                    return
                await self._actor_method(parts[2], parts[3], parts[5], receive, send)
                return
            if method == "POST" and path == BATCH_ROUTE:
                if not self._allowed(scope):
                    await _answer(send, 401, b'{"message":"app token"}')
                    return
                request = json.loads(await _body(receive))
                answer = await handle_bulk(self.runtime.require_intake(), request)
                await _answer(send, 200, json.dumps(answer, separators=(",", ":")).encode())
                return
        await self.app(scope, receive, send)

    async def _actor_method(
        self, actor_type: str, actor_id: str, method: str, receive: Receive, send: Send
    ) -> None:
        body = await _body(receive)
        try:
            result = await ActorRuntime.dispatch(actor_type, actor_id, method, body)
        except Exception as exc:  # daprd hands the error back to the caller
            await _answer(send, 500, json.dumps({"message": repr(exc)}).encode())
            return
        await _answer(send, 200, result)


# ---------------------------------------------------------------- gRPC app channel
def _token_ok(context: Any, token: str | None) -> bool:
    if token is None:
        return True
    return any(k == "dapr-api-token" and v == token for k, v in context.invocation_metadata())


class AppChannel(
    appcallback_service_v1.AppCallbackServicer,
    appcallback_service_v1.AppCallbackHealthCheckServicer,
):
    """The gRPC app channel daprd needs before it accepts the actor stream: the bulk
    subscription, the bulk deliveries and the health check."""

    def __init__(self, settings: FloorSettings, runtime: Runtime) -> None:
        self._settings = settings
        self._runtime = runtime

    async def ListTopicSubscriptions(
        self, request: Any, context: Any
    ) -> appcallback_v1.ListTopicSubscriptionsResponse:
        s = self._settings
        subscriptions = [
            appcallback_v1.TopicSubscription(
                pubsub_name=pubsub,
                topic=s.in_topic,
                dead_letter_topic=DEADLETTER_TOPIC,
                bulk_subscribe=appcallback_v1.BulkSubscribeConfig(
                    enabled=True,
                    max_messages_count=s.bulk_max_messages,
                    max_await_duration_ms=s.bulk_max_await_ms,
                ),
            )
            for pubsub in (s.intake_pubsubs if s.delivery == "bulk" else [])
        ]
        return appcallback_v1.ListTopicSubscriptionsResponse(subscriptions=subscriptions)

    async def OnBulkTopicEvent(
        self, request: appcallback_v1.TopicEventBulkRequest, context: Any
    ) -> appcallback_v1.TopicEventBulkResponse:
        if not _token_ok(context, self._settings.app_api_token):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "app token")
        entries: list[Entry] = []
        dropped: list[str] = []
        for raw in request.entries:
            data = raw.cloud_event.data if raw.HasField("cloud_event") else raw.bytes
            entry = decode(raw.entry_id, data)
            if entry is None:
                dropped.append(raw.entry_id)
            else:
                entries.append(entry)
        statuses = await self._runtime.require_intake().handle(entries, dropped)
        return appcallback_v1.TopicEventBulkResponse(
            statuses=[
                appcallback_v1.TopicEventBulkResponseEntry(entry_id=k, status=_STATUS[v])
                for k, v in statuses.items()
            ]
        )

    async def OnTopicEvent(
        self, request: appcallback_v1.TopicEventRequest, context: Any
    ) -> appcallback_v1.TopicEventResponse:
        if not _token_ok(context, self._settings.app_api_token):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "app token")
        entry = decode(request.id, request.data)
        status = DROP if entry is None else await self._runtime.require_intake().one(entry)
        return appcallback_v1.TopicEventResponse(status=_STATUS[status])

    async def HealthCheck(self, request: Any, context: Any) -> appcallback_v1.HealthCheckResponse:
        return appcallback_v1.HealthCheckResponse()


async def _start_grpc_server(settings: FloorSettings, runtime: Runtime) -> Any:
    server = grpc.aio.server()
    channel = AppChannel(settings, runtime)
    add_app = appcallback_service_v1.add_AppCallbackServicer_to_server
    add_health = appcallback_service_v1.add_AppCallbackHealthCheckServicer_to_server
    add_app(channel, server)  # type: ignore[no-untyped-call]
    add_health(channel, server)  # type: ignore[no-untyped-call]
    if server.add_insecure_port(f"127.0.0.1:{settings.app_grpc_port}") == 0:
        raise RuntimeError(f"cannot listen on the app channel port {settings.app_grpc_port}")
    await server.start()
    return server


# ---------------------------------------------------------------- streaming delivery
class StreamingDelivery:
    """One ``SubscribeTopicEventsAlpha1`` stream per intake lane. Each message is handled
    in its own task and answered when its turn is done."""

    def __init__(self, settings: FloorSettings, intake: Intake) -> None:
        self._settings = settings
        self._intake = intake
        self._channel: Any = None
        self._lanes: list[asyncio.Task[None]] = []
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self, timeout: float = 60.0) -> None:
        self._channel = grpc.aio.insecure_channel(self._settings.dapr_grpc_address)
        stub = api_service_v1.DaprStub(self._channel)  # type: ignore[no-untyped-call]
        token = self._settings.dapr_api_token
        metadata = (("dapr-api-token", token),) if token else None
        ready = [asyncio.Event() for _ in self._settings.intake_pubsubs]
        self._lanes = [
            asyncio.create_task(self._lane(stub, pubsub, metadata, ready[i]))
            for i, pubsub in enumerate(self._settings.intake_pubsubs)
        ]

        async def every_lane_ready() -> None:
            for r in ready:
                await r.wait()

        all_ready = asyncio.create_task(every_lane_ready())
        await asyncio.wait(
            [all_ready, *self._lanes], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if not all_ready.done():
            all_ready.cancel()
            failed = [t for t in self._lanes if t.done()]
            errors = [repr(t.exception()) for t in failed if not t.cancelled()]
            raise RuntimeError(f"streaming subscriptions did not start: {errors or 'timeout'}")

    async def _lane(self, stub: Any, pubsub: str, metadata: Any, ready: asyncio.Event) -> None:
        outgoing: asyncio.Queue[api_v1.SubscribeTopicEventsRequestAlpha1] = asyncio.Queue()
        initial = api_v1.SubscribeTopicEventsRequestAlpha1(
            initial_request=api_v1.SubscribeTopicEventsRequestInitialAlpha1(
                pubsub_name=pubsub,
                topic=self._settings.in_topic,
                dead_letter_topic=DEADLETTER_TOPIC,
            )
        )

        async def requests() -> AsyncIterator[api_v1.SubscribeTopicEventsRequestAlpha1]:
            yield initial
            while True:
                yield await outgoing.get()

        call = stub.SubscribeTopicEventsAlpha1(requests(), metadata=metadata)
        first = await call.read()
        if first is grpc.aio.EOF or not first.HasField("initial_response"):
            raise RuntimeError(f"{pubsub}: no initial response on the topic stream: {first}")
        ready.set()
        while True:
            message = await call.read()
            if message is grpc.aio.EOF:
                raise RuntimeError(f"{pubsub}: daprd closed the topic stream")
            if not message.HasField("event_message"):
                continue
            task = asyncio.create_task(self._one(message.event_message, outgoing))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _one(
        self,
        event: appcallback_v1.TopicEventRequest,
        outgoing: asyncio.Queue[api_v1.SubscribeTopicEventsRequestAlpha1],
    ) -> None:
        entry = decode(event.id, event.data)
        status = DROP if entry is None else await self._intake.one(entry)
        outgoing.put_nowait(
            api_v1.SubscribeTopicEventsRequestAlpha1(
                event_processed=api_v1.SubscribeTopicEventsRequestProcessedAlpha1(
                    id=event.id, status=appcallback_v1.TopicEventResponse(status=_STATUS[status])
                )
            )
        )

    async def aclose(self) -> None:
        for t in self._lanes:
            t.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError, RuntimeError):
            await asyncio.gather(*self._lanes)
        if self._channel is not None:
            await self._channel.close()


# ---------------------------------------------------------------- the two hosts
async def _health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "up"})


async def _start_delivery(settings: FloorSettings, runtime: Runtime, intake: Intake) -> None:
    if settings.delivery == "stream":
        streams = StreamingDelivery(settings, intake)
        runtime.closers.append(streams.aclose)
        await streams.start()


def _clients(
    settings: FloorSettings, runtime: Runtime
) -> tuple[ActorCalls, ResultPublisher, HttpPool]:
    pool = HttpPool(settings.dapr_http_url, settings.dapr_api_token, limit=RUNTIME_POOL)
    calls = actor_calls(settings)
    publisher = result_publisher(settings, pool)
    runtime.closers.extend([pool.aclose, calls.aclose, publisher.aclose])
    return calls, publisher, pool


def fastapi_app(settings: FloorSettings) -> ASGIApp:
    runtime = Runtime()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        calls, publisher, pool = _clients(settings, runtime)
        actor_client: DaprActorClientBase
        if settings.clients == "grpc":
            grpc_client = DaprActorGrpcClient(address=settings.dapr_grpc_address)
            runtime.closers.append(grpc_client.close)
            actor_client = grpc_client
        else:
            actor_client = PooledActorClient(pool)
        ActorRuntime.set_actor_config(ActorRuntimeConfig())
        await dapr_actor.register_actor(
            FloorActor,
            actor_client=actor_client,
            actor_factory=actor_factory(publisher, settings.state_ttl_s),
        )
        runtime.intake = Intake(calls, settings.max_turns)
        try:
            await _start_delivery(settings, runtime, runtime.intake)
            yield
        finally:
            await runtime.aclose()

    app = FastAPI(lifespan=lifespan, openapi_url=None)
    dapr_actor = DaprActor(app)
    subscriptions = settings.http_subscriptions()

    @app.get("/dapr/subscribe")
    async def dapr_subscribe() -> list[dict[str, Any]]:
        return subscriptions

    app.add_api_route("/health", _health)
    return FloorCallbacks(app, settings.app_api_token, runtime)


class _StreamToken(grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    """``dapr-api-token`` on stream-stream calls. The SDK's token interceptor subclasses
    both the unary-unary and the stream-stream interceptor, and grpc.aio files an
    interceptor under the first kind it matches: the SDK's channels send the token on
    unary calls only, and daprd refuses the actor stream (UNAUTHENTICATED)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def intercept_stream_stream(
        self, continuation: Any, details: Any, request_iterator: Any
    ) -> Any:
        metadata = [*(details.metadata or ()), ("dapr-api-token", self._token)]
        return await continuation(details._replace(metadata=metadata), request_iterator)


class TokenActorGrpcHost(ActorGrpcHost):
    """``ActorGrpcHost`` whose channel also sends the API token on its event stream."""

    def __init__(self, address: str, token: str | None) -> None:
        super().__init__(address=address, app_port=0)
        self._token_address = address
        self._token = token

    def _create_actor_client(
        self, message_serializer: Any, state_serializer: Any
    ) -> DaprActorGrpcClient:
        if self._channel is None and self._token:
            self._channel = create_aio_channel(
                self._token_address, interceptors=[_StreamToken(self._token)]
            )
        return super()._create_actor_client(message_serializer, state_serializer)


async def _start_host(settings: FloorSettings, publisher: ResultPublisher) -> ActorGrpcHost:
    """``ActorGrpcHost`` registered with daprd. daprd refuses the stream until its gRPC
    app channel is up, and a failed ``start`` closes the host's channel for good, so
    each attempt builds a new host and registers the actor again."""
    deadline = asyncio.get_running_loop().time() + HOST_START_SECONDS
    while True:
        host = TokenActorGrpcHost(settings.dapr_grpc_address, settings.dapr_api_token)
        await host.register_actor(
            FloorActor, actor_factory=actor_factory(publisher, settings.state_ttl_s)
        )
        try:
            await host.start()
            return host
        except Exception as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("actor host not registered yet: %r; retrying", exc)
            await asyncio.sleep(1.0)


def stream_host_app(settings: FloorSettings) -> ASGIApp:
    runtime = Runtime()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        calls, publisher, _pool = _clients(settings, runtime)
        runtime.intake = Intake(calls, settings.max_turns)
        ActorRuntime.set_actor_config(ActorRuntimeConfig())
        server = await _start_grpc_server(settings, runtime)
        runtime.closers.append(lambda: server.stop(grace=2))
        try:
            host = await _start_host(settings, publisher)
            runtime.closers.append(host.close)
            await _start_delivery(settings, runtime, runtime.intake)
            yield
        finally:
            await runtime.aclose()

    return Starlette(routes=[Route("/health", _health)], lifespan=lifespan)


def build_app(settings: FloorSettings) -> ASGIApp:
    if settings.host == "stream":
        return stream_host_app(settings)
    return fastapi_app(settings)


logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
app = build_app(FloorSettings.from_env(os.environ))
