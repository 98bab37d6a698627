"""GET /ops/actors finds the placement table on whichever placement pod leads: the
others answer 500 "not a leader", and an unreachable one is skipped too."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from service.errors import Unavailable
from service.frontend.routes.ops import leader_table, placement_urls

TABLE = {"tables": {"progress-service": {"hosts": [{"name": "10.0.0.1:50002"}]}}}


class Placement(BaseHTTPRequestHandler):
    """A leader (/leader) and a follower (/follower) on one local port."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        leader = self.path == "/leader"
        body = json.dumps(TABLE if leader else {"error": "not a leader"}).encode()
        self.send_response(200 if leader else 500)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Placement)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def fetch(urls: list[str]) -> dict[str, object]:
    async def go() -> dict[str, object]:
        async with httpx.AsyncClient(timeout=2.0) as client:
            return await leader_table(client, urls)

    return asyncio.run(go())


def test_urls_are_one_or_a_comma_separated_list() -> None:
    assert placement_urls("http://a/s") == ["http://a/s"]
    assert placement_urls(" http://a/s, http://b/s ,") == ["http://a/s", "http://b/s"]


def test_the_leaders_table_is_found_after_a_follower_and_a_dead_pod(base: str) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/placement/state"
    assert fetch([dead, f"{base}/follower", f"{base}/leader"]) == TABLE


def test_no_leader_is_unavailable_naming_each_url(base: str) -> None:
    with pytest.raises(Unavailable) as info:
        fetch([f"{base}/follower", f"{base}/follower2"])
    assert "follower:" in str(info.value) and "follower2:" in str(info.value)
    assert "500" in str(info.value)
