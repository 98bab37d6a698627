"""CORS for the origins in ``PROGRESS_CORS_ORIGINS``, and for no other.

Starlette's CORSMiddleware answers listed origins; with credentials allowed it also adds
``Access-Control-Allow-Credentials`` to answers to any other origin (harmless without
``Access-Control-Allow-Origin``, but not what an operator reading the headers expects).
Here a request from another origin never reaches it: a preflight is refused (400, no
``Access-Control-*`` header), anything else is answered by the app as if no CORS were
configured. Every answer varies by ``Origin``. Pure ASGI, so the stream is not buffered.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What a front end sends: the token, JSON bodies, the stream's resume point, a trace.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Last-Event-ID", "traceparent")
ALLOWED_METHODS = ("GET", "POST", "PUT", "DELETE")
# What it may read besides the CORS-safelisted response headers: where a background dry
# run is (POST /rules/dry-runs answers 202 with Location).
EXPOSED_HEADERS = ("Location",)
PREFLIGHT_MAX_AGE_S = 600


class ListedOriginsCORS:
    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.cors = CORSMiddleware(
            app,
            allow_origins=sorted(self.origins),
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            allow_credentials=True,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE_S,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if origin in self.origins:
            await self.cors(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            refused = PlainTextResponse(
                "Disallowed CORS origin", status_code=400, headers={"Vary": "Origin"}
            )
            await refused(scope, receive, send)
            return

        async def vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, vary)
