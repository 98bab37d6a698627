"""CORS (issue 22): PROGRESS_CORS_ORIGINS, comma-separated, none by default; the listed
origins get CORS answers with credentials, any other origin none at all."""

from __future__ import annotations

import warnings

import pytest

from service.main import create_app
from service.settings import Settings

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx use
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CONSOLE = "https://console.school.example"
OTHER = "https://elsewhere.example"


def preflight(origin: str, headers: str = "authorization,last-event-id") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": headers,
    }


def cors_headers(response_headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in response_headers.items() if k.lower().startswith("access-control-")}


@pytest.fixture(scope="module")
def client() -> TestClient:
    # no lifespan: these requests never reach a route that needs the database
    settings = Settings(cors_origins=f"{CONSOLE}, http://localhost:5173")
    return TestClient(create_app(settings))


def test_the_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROGRESS_CORS_ORIGINS", f" {CONSOLE} ,HTTP://LOCALHOST:5173,")
    assert Settings().cors_origins == [CONSOLE, "http://localhost:5173"]
    monkeypatch.delenv("PROGRESS_CORS_ORIGINS")
    assert Settings().cors_origins == []


@pytest.mark.parametrize("bad", ["*", f"{CONSOLE}/", f"{CONSOLE}/app", "console.example", "null"])
def test_what_is_not_an_origin_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not an origin"):
        Settings(cors_origins=bad)


def test_a_preflight_from_a_listed_origin_is_answered(client: TestClient) -> None:
    r = client.options("/struggles/stream", headers=preflight(CONSOLE))
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == CONSOLE
    assert r.headers["access-control-allow-credentials"] == "true"
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "last-event-id", "content-type"} <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]


def test_a_preflight_from_another_origin_gets_no_cors_headers(client: TestClient) -> None:
    r = client.options("/struggles/stream", headers=preflight(OTHER))
    assert r.status_code == 400
    assert cors_headers(dict(r.headers)) == {}
    assert "Origin" in r.headers["vary"]


def test_answers_to_a_listed_origin_carry_cors_headers_even_when_refused(
    client: TestClient,
) -> None:
    """A 401 the browser can read (no route reached: the token check comes first)."""
    r = client.get("/struggles", headers={"Origin": CONSOLE})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == CONSOLE
    assert r.headers["access-control-allow-credentials"] == "true"
    other = client.get("/struggles", headers={"Origin": OTHER})
    assert other.status_code == 401
    assert cors_headers(dict(other.headers)) == {}
    assert "Origin" in other.headers["vary"]


def test_without_origins_there_is_no_cors() -> None:
    client = TestClient(create_app(Settings(cors_origins="")))
    r = client.options("/struggles/stream", headers=preflight(CONSOLE))
    assert cors_headers(dict(r.headers)) == {}
    assert r.status_code == 405
