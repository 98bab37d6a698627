"""Calls from the service to its daprd sidecar over Dapr's HTTP API (publish, metadata,
health). One pooled httpx client per process, created in the app lifespan."""

from __future__ import annotations

import json
from typing import Any

import httpx

from service.settings import Settings


class SidecarError(RuntimeError):
    """daprd answered with an error or could not be reached."""


class Sidecar:
    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        headers = {"dapr-api-token": settings.dapr_api_token} if settings.dapr_api_token else {}
        self._settings = settings
        self._client = client or httpx.AsyncClient(
            base_url=settings.dapr_http_url, headers=headers, timeout=10.0
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def publish(
        self,
        topic: str,
        payload: dict[str, Any],
        partition_key: str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Publish JSON ``payload`` on ``topic`` through the Kafka pub/sub component;
        ``partition_key`` becomes the Kafka message key."""
        params = {"metadata.partitionKey": partition_key} if partition_key else None
        try:
            response = await self._client.post(
                f"/v1.0/publish/{self._settings.pubsub_name}/{topic}",
                content=json.dumps(payload, separators=(",", ":"), default=str),
                headers={"content-type": "application/json"},
                params=params,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise SidecarError(f"publish to {topic} failed: {exc!r}") from exc
        if response.status_code != 204:
            raise SidecarError(
                f"publish to {topic} failed: HTTP {response.status_code} {response.text[:300]}"
            )

    async def healthz(self, timeout: float) -> None:
        try:
            response = await self._client.get("/v1.0/healthz", timeout=timeout)
        except httpx.HTTPError as exc:
            raise SidecarError(f"daprd unreachable at {self._settings.dapr_http_url}") from exc
        if response.status_code != 204:
            raise SidecarError(f"daprd unhealthy: HTTP {response.status_code}")

    async def get_reminder(
        self, actor_type: str, actor_id: str, name: str
    ) -> dict[str, Any] | None:
        """The reminder as daprd (and the scheduler behind it) holds it; None if absent."""
        try:
            response = await self._client.get(
                f"/v1.0/actors/{actor_type}/{actor_id}/reminders/{name}", timeout=5.0
            )
        except httpx.HTTPError as exc:
            raise SidecarError(f"daprd unreachable: {exc!r}") from exc
        if response.status_code in (404, 204) or (
            response.status_code == 500 and "not found" in response.text.lower()
        ):
            return None
        if response.status_code != 200:
            raise SidecarError(f"reminder lookup failed: HTTP {response.status_code}")
        data: dict[str, Any] = response.json()
        return data

    async def metadata(self, timeout: float = 5.0) -> dict[str, Any]:

        try:
            response = await self._client.get("/v1.0/metadata", timeout=timeout)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise SidecarError(f"daprd metadata unavailable: {exc!r}") from exc
        data: dict[str, Any] = response.json()
        return data
