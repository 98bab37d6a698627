"""daprd's app API token on the routes daprd calls (pure ASGI, so streaming responses
are not buffered)."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from service.problems import problem_response, type_base_of

# Routes daprd calls: subscriptions and their deliveries, actor hosting callbacks.
DAPR_PREFIXES = ("/dapr/", "/events/", "/actors/")


async def refuse_without_token(
    token: bytes | None, scope: Scope, receive: Receive, send: Send
) -> bool:
    """Answer 401 and return True when ``token`` is set and the request does not carry it
    as ``dapr-api-token``; otherwise False (the caller goes on)."""
    if token is None:
        return False
    given = dict(scope["headers"]).get(b"dapr-api-token", b"")
    if hmac.compare_digest(given, token):
        return False
    response = problem_response(
        401,
        "Dapr-facing route: missing or wrong dapr-api-token",
        base=type_base_of(scope.get("app")),
    )
    await response(scope, receive, send)
    return True


class DaprTokenMiddleware:
    """Dapr-facing routes accept only calls carrying daprd's app API token
    (``dapr-api-token`` header). Without a configured token nothing is checked."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].startswith(DAPR_PREFIXES)
            and await refuse_without_token(self.token, scope, receive, send)
        ):
            return
        await self.app(scope, receive, send)
