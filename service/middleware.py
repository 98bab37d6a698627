"""ASGI middleware: request body size limits (daprd's app API token on the routes daprd
calls is service/dapr/app_token.py).

Pure ASGI (no BaseHTTPMiddleware) so streaming responses are not buffered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from service.problems import problem_response, type_base_of


class BodyLimitMiddleware:
    """Refuses request bodies over ``limit`` bytes with 413 (declared or streamed); the
    paths in ``larger`` have their own limit (a roster bundle upload). Pub/sub deliveries
    are exempt: the intake turns oversized events into dead letters, so nothing is lost
    and the partition keeps moving."""

    def __init__(self, app: ASGIApp, limit: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/events/"):
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.limit)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            413, f"request body larger than {limit} bytes", base=type_base_of(scope.get("app"))
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass
