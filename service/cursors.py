"""Opaque page cursors: a JSON value, base64url-encoded without padding. What each cursor
holds is up to its route; clients only pass it back."""

from __future__ import annotations

import base64
import json
from typing import Any


def encode(value: Any) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(text: str) -> Any:
    """The value ``encode`` wrapped; ValueError for text it could not have written."""
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError) as exc:
        raise ValueError("cursor is not one this API issued") from exc
