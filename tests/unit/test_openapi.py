"""The committed OpenAPI document is the app's: regenerate with `make openapi`."""

import yaml

from service.openapi_export import OPENAPI_FILE, current_document


def test_committed_openapi_matches_the_app() -> None:
    committed = yaml.safe_load(OPENAPI_FILE.read_text())
    assert committed == current_document(), (
        "docs/openapi.yaml is out of date with the app: run `make openapi` and commit it"
    )


def test_dapr_facing_routes_are_not_in_the_public_document() -> None:
    paths = current_document()["paths"]
    assert not [p for p in paths if p.startswith(("/dapr", "/events", "/actors", "/healthz"))]
    assert {"/progress/{student_id}", "/struggles", "/struggles/stream", "/health"} <= set(paths)
