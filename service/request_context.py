"""Per-request context: the W3C trace id in every log line, one log line and one
latency observation per request (pure ASGI middleware, streaming-safe)."""

from __future__ import annotations

import re
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.metrics import HTTP_DURATION

log = structlog.get_logger("http")
TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
# Deliveries and actor calls are logged by the intake and the actor themselves.
QUIET_PREFIXES = ("/actors/", "/healthz", "/dapr/")


def trace_id_from(traceparent: str | None) -> str | None:
    if not traceparent:
        return None
    match = TRACEPARENT.match(traceparent.strip().lower())
    return match.group(1) if match else None


def _route_template(scope: Scope) -> str:
    """The matched route's template (the router records it in the shared scope)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        traceparent = headers.get(b"traceparent", b"").decode("latin-1") or None
        structlog.contextvars.clear_contextvars()
        trace_id = trace_id_from(traceparent)
        if trace_id:
            structlog.contextvars.bind_contextvars(trace_id=trace_id)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            path: str = scope["path"]
            route = _route_template(scope)
            if not path.startswith(("/events/", *QUIET_PREFIXES)):
                HTTP_DURATION.labels(scope["method"], route, str(status)).observe(elapsed)
                log.info(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.clear_contextvars()
