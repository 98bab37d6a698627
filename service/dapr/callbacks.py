"""The two calls daprd makes once per student turn and once per delivery batch, served
before the rest of the ASGI stack.

An actor method call (``PUT /actors/{type}/{id}/method/{name}``) and a bulk delivery
(``POST /events/batch``) are the only requests whose count grows with the event rate.
Through FastAPI each one passed five middlewares, the router, dependency resolution and
a response class: ``python -m bench.profile 300`` put that framework share at about an
eighth of the app's CPU at part load, where a turn carries one event. Here they are
answered straight from the ASGI scope, with the same token check and the same answers as
the SDK's FastAPI routes (``dapr.ext.fastapi.DaprActor``), which keep serving everything
else daprd calls: /healthz, /dapr/config, deactivation, reminders and timers.

Neither call was ever logged or timed per request (QUIET_PREFIXES in
service/request_context.py): the intake and the actor log their own lines.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from dapr.actor import ActorRuntime
from dapr.clients.exceptions import ERROR_CODE_UNKNOWN, DaprInternalError
from starlette.types import ASGIApp, Receive, Scope, Send

from service.dapr.app_token import refuse_without_token

BATCH_ROUTE = "/events/batch"
_REENTRANCY_HEADER = b"dapr-reentrancy-id"
_JSON = [(b"content-type", b"application/json")]

BatchHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def actor_method_target(method: str, path: str) -> tuple[str, str, str] | None:
    """(actor type, actor id, method) when the request is an actor method call; None for
    anything else (reminder and timer callbacks have one more path segment)."""
    if method != "PUT" or not path.startswith("/actors/"):
        return None
    parts = path.split("/")
    if len(parts) != 6 or parts[4] != "method" or not all(parts[2:6]):
        return None
    return parts[2], parts[3], parts[5]


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


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class DaprCallbacks:
    """ASGI middleware: actor method calls go to the SDK's ``ActorRuntime.dispatch``, bulk
    deliveries to the intake (``app.state.intake``, set by the actor host); the rest goes
    on to ``app``. With a token configured, both require daprd's ``dapr-api-token``."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = actor_method_target(scope["method"], scope["path"])
            is_batch = scope["method"] == "POST" and scope["path"] == BATCH_ROUTE
            if target is not None or is_batch:
                if await refuse_without_token(self.token, scope, receive, send):
                    return
                if target is not None:
                    await self._actor_method(target, dict(scope["headers"]), receive, send)
                else:
                    await self._batch(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _actor_method(
        self,
        target: tuple[str, str, str],
        headers: dict[bytes, bytes],
        receive: Receive,
        send: Send,
    ) -> None:
        """As the SDK's route answers: the method's serialized result, or 500 with the
        error (daprd hands it back to the caller)."""
        reentrancy = headers.get(_REENTRANCY_HEADER)
        try:
            result = await ActorRuntime.dispatch(
                *target, await _body(receive), reentrancy.decode() if reentrancy else None
            )
        except DaprInternalError as exc:
            await _answer(send, 500, _json(exc.as_json_safe_dict()))  # type: ignore[no-untyped-call]
            return
        except Exception as exc:  # the caller gets it as the call's error
            await _answer(send, 500, _json({"message": repr(exc), "errorCode": ERROR_CODE_UNKNOWN}))
            return
        await _answer(send, 200, result)

    async def _batch(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A bulk delivery: always a 2xx with per-entry statuses, or a 500 (daprd retries
        the whole batch). Never a 404: daprd would commit the batch unprocessed."""
        handle: BatchHandler = scope["app"].state.intake.handle_batch
        request = json.loads(await _body(receive))
        await _answer(send, 200, _json(await handle(request)))
