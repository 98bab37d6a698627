"""Write the public OpenAPI document to docs/openapi.yaml (``make openapi``).

The file is committed; tests/unit/test_openapi.py fails when the app and it differ.
"""

import sys
from pathlib import Path
from typing import Any

import yaml

from service.main import create_app
from service.settings import REPO_DIR, Settings

OPENAPI_FILE = REPO_DIR / "docs" / "openapi.yaml"


def current_document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def render(document: dict[str, Any]) -> str:
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return text


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OPENAPI_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(current_document()))
    sys.stderr.write(f"wrote {target}\n")


if __name__ == "__main__":
    main()
