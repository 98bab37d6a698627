"""Pooled HTTP connections to the daprd sidecar.

The process keeps two pools (service/main.py): one for calls *into* actors (the intake's
and the API's), and one for everything else, the actor runtime's own state and reminder
calls included. One shared, bounded pool deadlocks: it fills with calls into actors,
each waiting for an actor turn that needs a connection for its state write. Calls into
actors are bounded by the intake (lanes x batch size), so their pool has no limit.

The SDK's HTTP client opens a new aiohttp session, hence a new TCP connection, for every
call; at the event rates of a batched intake that is thousands of connects a second and
as many sockets in TIME_WAIT. ``PooledActorClient`` is the SDK's actor client interface
over this pool; it raises the SDK's own ``DaprHttpError`` so the actor runtime handles
failures as it does with its own client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp
from dapr.clients.base import DaprActorClientBase
from dapr.clients.exceptions import DaprHttpError
from dapr.serializers import DefaultJSONSerializer

from service.settings import Settings

_ERROR_SERIALIZER = DefaultJSONSerializer()


class DaprUnreachable(ConnectionError):
    """daprd could not be reached, or did not answer in time."""


class DaprHttp:
    """A keep-alive connection pool to daprd's HTTP API, opened on first use (inside the
    running event loop) and closed by ``aclose``."""

    def __init__(self, settings: Settings, timeout_s: float = 60.0, pool_size: int = 0) -> None:
        """``pool_size`` 0 = no limit."""
        self.base_url = settings.dapr_http_url
        self._headers = (
            {"dapr-api-token": settings.dapr_api_token} if settings.dapr_api_token else {}
        )
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                base_url=self.base_url,
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=60),
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
        content_type: str = "application/json",
        timeout_s: float | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) of one call; DaprUnreachable when no answer came."""
        try:
            async with self._client().request(
                method,
                path,
                data=data,
                params=params,
                headers={"content-type": content_type} if data is not None else None,
                timeout=aiohttp.ClientTimeout(total=timeout_s) if timeout_s else None,
            ) as response:
                return response.status, await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DaprUnreachable(f"{method} {path}: {exc!r}") from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class DaprRequests(Protocol):
    """What :class:`PooledActorClient` needs of a pool: :class:`DaprHttp`, or the floor
    benchmark's own (bench/floor/clients.py), so both make the same calls."""

    async def request(
        self, method: str, path: str, data: bytes | None = None
    ) -> tuple[int, bytes]: ...


class PooledActorClient(DaprActorClientBase):
    """The SDK's actor client interface (what ``register_actor(actor_client=...)``
    takes) over a pool."""

    def __init__(self, http: DaprRequests) -> None:
        self._http = http

    async def _call(self, method: str, path: str, data: bytes | None = None) -> bytes:
        status, body = await self._http.request(method, f"/v1.0/actors/{path}", data)
        if 200 <= status < 300:
            return body
        raise DaprHttpError(_ERROR_SERIALIZER, raw_response_bytes=body, status_code=status)

    async def invoke_method(
        self, actor_type: str, actor_id: str, method: str, data: bytes | None = None
    ) -> bytes:
        return await self._call("POST", f"{actor_type}/{actor_id}/method/{method}", data)

    async def save_state_transactionally(self, actor_type: str, actor_id: str, data: bytes) -> None:
        await self._call("PUT", f"{actor_type}/{actor_id}/state", data)

    async def get_state(self, actor_type: str, actor_id: str, name: str) -> bytes:
        return await self._call("GET", f"{actor_type}/{actor_id}/state/{name}")

    async def register_reminder(
        self, actor_type: str, actor_id: str, name: str, data: bytes
    ) -> None:
        await self._call("PUT", f"{actor_type}/{actor_id}/reminders/{name}", data)

    async def unregister_reminder(self, actor_type: str, actor_id: str, name: str) -> None:
        await self._call("DELETE", f"{actor_type}/{actor_id}/reminders/{name}")

    async def get_reminder(
        self, actor_type: str, actor_id: str, name: str
    ) -> dict[str, Any] | None:
        """The reminder as this daprd (and the scheduler behind it) holds it; None if
        absent. Only the sidecar of the process that hosts the actor type may ask
        (daprd: ERR_ACTOR_REMINDER_NON_HOSTED otherwise)."""
        path = f"/v1.0/actors/{actor_type}/{actor_id}/reminders/{name}"
        status, body = await self._http.request("GET", path)
        if status in (404, 204) or (status == 500 and b"not found" in body.lower()):
            return None
        if status != 200:
            raise DaprHttpError(_ERROR_SERIALIZER, raw_response_bytes=body, status_code=status)
        found: dict[str, Any] = json.loads(body)
        return found

    async def register_timer(self, actor_type: str, actor_id: str, name: str, data: bytes) -> None:
        await self._call("PUT", f"{actor_type}/{actor_id}/timers/{name}", data)

    async def unregister_timer(self, actor_type: str, actor_id: str, name: str) -> None:
        await self._call("DELETE", f"{actor_type}/{actor_id}/timers/{name}")


def error_text(body: bytes, limit: int = 300) -> str:
    return body[:limit].decode("utf-8", errors="replace")


__all__ = ["DaprHttp", "DaprUnreachable", "PooledActorClient", "error_text"]
