"""Problem documents name their kind of error (issue 22): every kind of service error
and every status the framework and the middleware answer with has a type URI of its
own under the configured base; docs/api.md has a section per type; the API serves a
page per type."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest
from fastapi import FastAPI

from service import errors
from service.errors import ServiceError
from service.main import create_app
from service.problems import (
    ERROR_KINDS,
    PROBLEM_JSON,
    PROBLEM_TYPES,
    STATUS_KINDS,
    install_problem_handlers,
)
from service.settings import REPO_DIR, Settings

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx use
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ERROR_CLASSES = [
    cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, ServiceError) and cls is not ServiceError
]


def test_every_kind_of_service_error_has_a_type_of_its_own() -> None:
    assert set(ERROR_CLASSES) == set(ERROR_KINDS), "a ServiceError without a problem type"
    kinds = list(ERROR_KINDS.values())
    assert len(set(kinds)) == len(kinds)
    assert set(kinds) <= set(PROBLEM_TYPES)


def test_types_are_stable_names_and_every_one_is_used() -> None:
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", kind) for kind in PROBLEM_TYPES)
    assert set(PROBLEM_TYPES) == set(ERROR_KINDS.values()) | set(STATUS_KINDS.values())
    assert all(PROBLEM_TYPES[kind].status == status for status, kind in STATUS_KINDS.items())
    assert set(PROBLEM_TYPES) == {
        "bad-request",
        "unknown-reference",
        "unauthenticated",
        "forbidden",
        "not-found",
        "method-not-allowed",
        "conflict",
        "body-too-large",
        "invalid-input",
        "internal-error",
        "unavailable",
    }, "problem types are part of the contract: change docs/api.md and this list together"


def test_docs_have_a_section_per_type() -> None:
    text = (REPO_DIR / "docs" / "api.md").read_text()
    anchors = set(re.findall(r'^<a id="problem-([a-z-]+)"></a>', text, flags=re.M))
    assert anchors == set(PROBLEM_TYPES)
    for kind, found in PROBLEM_TYPES.items():
        assert re.search(rf"^- `{kind}` \({found.status}[,)]", text, flags=re.M), kind


def _raising_app(base: str | None) -> FastAPI:
    """An app with the problem handlers and a route raising each kind of service error."""
    app = FastAPI()
    if base is not None:
        app.state.settings = Settings(problem_type_base=base)
    install_problem_handlers(app)

    @app.get("/raise/{name}")
    async def raise_(name: str) -> None:
        cls = getattr(errors, name)
        raise cls("it went wrong", {"extra": 1})

    return app


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_a_service_error_answers_with_its_type(cls: type[ServiceError]) -> None:
    response = TestClient(_raising_app(None)).get(f"/raise/{cls.__name__}")
    kind = PROBLEM_TYPES[ERROR_KINDS[cls]]
    assert response.status_code == kind.status
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": f"/problems/{kind.kind}",
        "title": kind.title,
        "status": kind.status,
        "detail": "it went wrong",
        "extra": 1,
    }


def test_the_base_is_a_setting() -> None:
    client = TestClient(_raising_app("https://api.example.edu/progress/problems/"))
    body = client.get("/raise/NotFound").json()
    assert body["type"] == "https://api.example.edu/progress/problems/not-found"


@pytest.mark.parametrize("base", ["problems/", "https://x.example/a b/", ""])
def test_a_base_that_is_no_uri_reference_is_refused(base: str) -> None:
    with pytest.raises(ValueError, match="problem_type_base"):
        Settings(problem_type_base=base)


@pytest.fixture
def client() -> TestClient:
    app = create_app(Settings(max_request_bytes=64, app_api_token="app-token-" + "x" * 20))
    return TestClient(app, raise_server_exceptions=False)  # no lifespan: no resources


def _type(response: Any) -> str:
    assert response.headers["content-type"] == PROBLEM_JSON, response.text
    kind: str = response.json()["type"]
    return kind


def test_the_apps_own_refusals_carry_their_types(client: TestClient) -> None:
    assert _type(client.get("/no/such/path")) == "/problems/not-found"
    assert _type(client.patch("/struggles")) == "/problems/method-not-allowed"
    assert _type(client.get("/struggles")) == "/problems/unauthenticated"
    assert _type(client.post("/classes/c1", content=b"x" * 65)) == "/problems/body-too-large"
    assert _type(client.post("/events/batch", json={})) == "/problems/unauthenticated"
    assert _type(client.get("/problems/nope")) == "/problems/not-found"


def test_every_type_has_a_page(client: TestClient) -> None:
    for kind, found in PROBLEM_TYPES.items():
        response = client.get(f"/problems/{kind}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert f"<h1>{kind}</h1>" in response.text and str(found.status) in response.text


def test_a_service_error_of_no_listed_kind_is_an_internal_error() -> None:
    response = TestClient(_raising_app(None)).get("/raise/ServiceError")
    assert response.status_code == 500
    assert response.json()["type"] == "/problems/internal-error"
