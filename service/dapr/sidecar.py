"""Calls from the service to its daprd sidecar over Dapr's HTTP API: publish (one
message or a bulk), health, metadata, reminder look-ups. Over the process's one
connection pool (service/dapr/http_client.py)."""

from __future__ import annotations

import json
from typing import Any

from service.dapr.http_client import DaprHttp, DaprUnreachable, error_text
from service.errors import Unavailable
from service.settings import Settings


class SidecarError(Unavailable):
    """daprd answered with an error or could not be reached."""


def _json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


class Sidecar:
    def __init__(self, settings: Settings, http: DaprHttp | None = None) -> None:
        self._settings = settings
        self._http = http or DaprHttp(settings, timeout_s=10.0)
        self._owns_http = http is None

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        what: str,
        data: bytes | None = None,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[int, bytes]:
        try:
            return await self._http.request(method, path, data, params, timeout_s=timeout)
        except DaprUnreachable as exc:
            raise SidecarError(f"{what} failed: daprd unreachable ({exc})") from exc

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
        status, body = await self._request(
            "POST",
            f"/v1.0/publish/{self._settings.pubsub_name}/{topic}",
            f"publish to {topic}",
            _json(payload),
            params,
            timeout,
        )
        if status != 204:
            raise SidecarError(f"publish to {topic} failed: HTTP {status} {error_text(body)}")

    async def publish_bulk(
        self,
        topic: str,
        messages: list[tuple[str, dict[str, Any]]],
        content_type: str = "application/json",
    ) -> None:
        """Publish ``(key, payload)`` pairs on ``topic`` in one call (one Kafka produce
        request); each key becomes its message's Kafka key. All or an error: the caller
        retries the whole list (every message carries an id consumers dedupe on).
        ``application/cloudevents+json`` payloads are whole CloudEvents daprd keeps as
        they are (their type and id); anything else daprd wraps in one of its own."""
        if not messages:
            return
        entries = [
            {
                "entryId": str(i),
                "event": payload,
                "contentType": content_type,
                # per entry: a request-level partitionKey would override every entry's
                "metadata": {"partitionKey": key},
            }
            for i, (key, payload) in enumerate(messages)
        ]
        status, body = await self._request(
            "POST",
            f"/v1.0-alpha1/publish/bulk/{self._settings.pubsub_name}/{topic}",
            f"bulk publish to {topic}",
            _json(entries),
        )
        if status != 204:
            raise SidecarError(
                f"bulk publish of {len(entries)} to {topic} failed: HTTP {status} "
                f"{error_text(body)}"
            )

    async def healthz(self, timeout: float) -> None:
        status, _ = await self._request("GET", "/v1.0/healthz", "daprd health", timeout=timeout)
        if status != 204:
            raise SidecarError(f"daprd unhealthy: HTTP {status}")

    async def get_reminder(
        self, actor_type: str, actor_id: str, name: str
    ) -> dict[str, Any] | None:
        """The reminder as daprd (and the scheduler behind it) holds it; None if absent."""
        status, body = await self._request(
            "GET",
            f"/v1.0/actors/{actor_type}/{actor_id}/reminders/{name}",
            "reminder lookup",
            timeout=5.0,
        )
        if status in (404, 204) or (status == 500 and b"not found" in body.lower()):
            return None
        if status != 200:
            raise SidecarError(f"reminder lookup failed: HTTP {status}")
        data: dict[str, Any] = json.loads(body)
        return data

    async def invoke_json(self, app_id: str, method: str, timeout: float = 5.0) -> Any:
        """GET ``method`` of the app ``app_id`` by Dapr service invocation (same
        namespace); its JSON answer."""
        status, body = await self._request(
            "GET", f"/v1.0/invoke/{app_id}/method/{method}", f"invoke {app_id}", timeout=timeout
        )
        if status != 200:
            raise SidecarError(f"invoke {app_id}/{method} failed: HTTP {status} {error_text(body)}")
        return json.loads(body)

    async def metadata(self, timeout: float = 5.0) -> dict[str, Any]:
        status, body = await self._request(
            "GET", "/v1.0/metadata", "daprd metadata", timeout=timeout
        )
        if status != 200:
            raise SidecarError(f"daprd metadata unavailable: HTTP {status}")
        data: dict[str, Any] = json.loads(body)
        return data
