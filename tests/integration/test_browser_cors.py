"""CORS on the real stack (issue 22): the app runs with PROGRESS_CORS_ORIGINS set to
CORS_ORIGIN (conftest.py); a browser on that origin may call the API and read its
answers, one on another origin gets no CORS header at all."""

from __future__ import annotations

import httpx

from tests.integration.stack import Ports
from tests.integration.support import CORS_ORIGIN, bearer


async def test_cors_preflight_answers_a_configured_origin_only(ports: Ports) -> None:
    """The stack's app runs with PROGRESS_CORS_ORIGINS=CORS_ORIGIN."""
    ask = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    async with httpx.AsyncClient(base_url=ports.app_url, timeout=30) as client:
        listed = await client.options("/struggles/stream", headers={**ask, "Origin": CORS_ORIGIN})
        assert listed.status_code == 200
        assert listed.headers["access-control-allow-origin"] == CORS_ORIGIN
        assert listed.headers["access-control-allow-credentials"] == "true"
        other = await client.options(
            "/struggles/stream", headers={**ask, "Origin": "https://elsewhere.example"}
        )
        assert other.status_code == 400
        assert not [h for h in other.headers if h.lower().startswith("access-control-")]
        # an actual request: the listed origin may read the answer, another may not
        got = await client.get("/struggles", headers={**bearer("admin"), "Origin": CORS_ORIGIN})
        assert got.headers["access-control-allow-origin"] == CORS_ORIGIN
        elsewhere = {**bearer("admin"), "Origin": "https://elsewhere.example"}
        got_other = await client.get("/struggles", headers=elsewhere)
        assert got_other.status_code == 200
        assert "access-control-allow-origin" not in got_other.headers
