"""Calls into StudentProgressActor through daprd's actor API.

One pooled HTTP client for all calls (the SDK's ActorProxy opens a new aiohttp session,
and so a new connection, per call, which the profile showed as the largest avoidable
cost on the event path), and the answer is parsed as plain JSON (the SDK's deserializer
would turn every ISO-8601-looking string into a datetime).
"""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import quote

import httpx

from actors.interface import ACTOR_TYPE
from service.problems import ProblemError
from service.settings import Settings


class ActorCallFailed(ProblemError):
    """The actor could not be reached or failed (daprd down, placement moving actors,
    state store unavailable): a server-side, usually transient, fault."""

    def __init__(self, method: str, cause: str) -> None:
        super().__init__(503, f"the student actor is unavailable ({method}): {cause}")


class ActorGateway:
    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        headers = {"dapr-api-token": settings.dapr_api_token} if settings.dapr_api_token else {}
        self._client = client or httpx.AsyncClient(
            base_url=settings.dapr_http_url,
            headers=headers,
            timeout=30.0,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, student_id: str, method: str, arg: Any = None) -> dict[str, Any]:
        url = f"/v1.0/actors/{ACTOR_TYPE}/{quote(student_id, safe='')}/method/{method}"
        body = b"" if arg is None else json.dumps(arg, separators=(",", ":")).encode()
        try:
            response = await self._client.put(
                url, content=body, headers={"content-type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise ActorCallFailed(method, repr(exc)) from exc
        if response.status_code != 200:
            raise ActorCallFailed(method, f"HTTP {response.status_code} {response.text[:300]}")
        return cast(dict[str, Any], response.json())

    async def apply_event(self, student_id: str, envelope: dict[str, Any]) -> dict[str, Any]:
        return await self._call(student_id, "ApplyEvent", envelope)

    async def get_progress(self, student_id: str) -> dict[str, Any]:
        return await self._call(student_id, "GetProgress")

    async def list_reminders(self, student_id: str) -> dict[str, Any]:
        return await self._call(student_id, "ListReminders")

    async def erase(self, student_id: str) -> dict[str, Any]:
        return await self._call(student_id, "Erase")
