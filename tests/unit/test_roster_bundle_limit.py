"""PROGRESS_MAX_ROSTER_BUNDLE_BYTES bounds a OneRoster upload, zipped (413) and unzipped
(422), through the app with a configured limit (no stack: a refused bundle never reaches
the roster tables)."""

from __future__ import annotations

import io
import warnings
import zipfile
from typing import Any, NoReturn, get_args

import jwt
import pytest

from service.deps import Rosters
from service.dev_token import dev_claims
from service.main import create_app
from service.settings import Settings

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx use
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LIMIT = 4096
SECRET = "s" * 40


class _NoRosters:
    """Stands in for the roster repository: a refused bundle must never be applied."""

    def __getattr__(self, name: str) -> NoReturn:
        raise AssertionError(f"a refused bundle reached the rosters ({name})")


@pytest.fixture
def client() -> TestClient:
    app = create_app(Settings(jwt_secret=SECRET, max_roster_bundle_bytes=LIMIT))
    rosters_dependency = get_args(Rosters)[1].dependency  # Annotated[..., Depends(...)]
    app.dependency_overrides[rosters_dependency] = _NoRosters
    admin = jwt.encode(dev_claims("admin", "admin-1"), SECRET, algorithm="HS256")
    return TestClient(app, headers={"Authorization": f"Bearer {admin}"})  # no lifespan


def zipped(**files: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(client: TestClient, data: bytes) -> Any:
    return client.post(
        "/rosters/oneroster", content=data, headers={"Content-Type": "application/zip"}
    )


def test_a_bundle_over_the_configured_limit_is_refused_with_413(client: TestClient) -> None:
    response = upload(client, b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert f"larger than {LIMIT} bytes" in response.json()["detail"]


def test_a_bundle_unzipping_past_the_configured_limit_is_refused_with_422(
    client: TestClient,
) -> None:
    data = zipped(**{"manifest.csv": b"propertyName,value\n" + b"a,b\n" * 2000})
    assert len(data) < LIMIT  # it passes the upload limit, compressed
    response = upload(client, data)
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert problems == [
        {"file": "bundle", "line": None, "reason": f"unzips to more than {LIMIT} bytes"}
    ]
