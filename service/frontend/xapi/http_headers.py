"""Headers every answer under /xapi/ carries, whoever wrote it (a route, the problem
handlers, the body limit): ``X-Experience-API-Version`` (xAPI: on every response), and
on a 401 the Basic challenge learning tools answer (instead of the API's Bearer)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.frontend.xapi.producers import BASIC_REALM
from service.frontend.xapi.validation import VERSION_SERVED

PREFIX = "/xapi/"


class XapiHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"x-experience-api-version", b"www-authenticate")
                    or (k.lower() == b"www-authenticate" and message["status"] != 401)
                ]
                headers.append((b"x-experience-api-version", VERSION_SERVED.encode()))
                if message["status"] == 401:
                    headers.append((b"www-authenticate", BASIC_REALM.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
