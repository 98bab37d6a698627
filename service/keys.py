"""Keys this service derives for what it signs for itself (stream tickets, console
sessions): HMAC-SHA256 of a base secret and a fixed label per use, so one base secret
serves every use and the base itself never signs anything.

The base is the use's own secret when set, else ``APP_API_TOKEN`` (required outside
development and the same on every replica, so replicas verify each other's
signatures without a new secret), else — development only — the JWT secret."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

from service.settings import Settings


def derived_key(settings: Settings, label: bytes, own_secret: SecretStr | None = None) -> bytes:
    if own_secret is not None:
        base = own_secret.get_secret_value()
    elif settings.app_api_token is not None:
        base = settings.app_api_token.get_secret_value()
    else:
        base = settings.jwt_secret.get_secret_value()
    return hmac.new(base.encode(), label, hashlib.sha256).digest()
