"""The console's session cookie and the CSRF token of its forms.

A session is a short JWT (HS256) this service signs for itself — the signed-in caller's
``sub`` and ``role``, a random session id, an expiry no later than the token it was
exchanged for — in an HttpOnly cookie. Nothing is stored: any replica with the same key
reads it (the key: ``PROGRESS_CONSOLE_SESSION_SECRET``, else ``APP_API_TOKEN``, else in
development the JWT secret; service/keys.py).

CSRF: every form that changes something carries ``csrf_token`` =
HMAC(key, session id); a POST signed in by the cookie without the right one is refused
(403). The cookie is also ``SameSite=Lax``, so another site's form post does not carry
it at all; the token is the defence that does not depend on the browser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from service.auth import ROLES, Principal
from service.keys import derived_key
from service.settings import Settings

COOKIE = "progress_console"
AUDIENCE = "progress-service/frontend/console"
SESSION_TYPE = "console-session"
KEY_LABEL = b"progress-service console session v1"
CSRF_LABEL = b"csrf"
LEEWAY_S = 5


@dataclass(frozen=True)
class Session:
    principal: Principal
    session_id: str


class SessionSigner:
    def __init__(
        self, key: bytes, ttl_s: int, secure: bool, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = key
        self._ttl = timedelta(seconds=ttl_s)
        self.secure = secure
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionSigner:
        key = derived_key(settings, KEY_LABEL, settings.console_session_secret)
        secure = settings.environment != "development"
        return cls(key, settings.console_session_ttl_s, secure)

    def mint(self, principal: Principal) -> tuple[str, datetime]:
        """A session cookie's value for ``principal`` and when it expires (after the
        configured lifetime, or when the exchanged token does, whichever is first)."""
        now = datetime.fromtimestamp(int(self._clock()), UTC)
        expires = now + self._ttl
        if principal.expires_at is not None:
            expires = min(expires, principal.expires_at)
        claims = {
            "typ": SESSION_TYPE,
            "aud": AUDIENCE,
            "sub": principal.subject,
            "role": principal.role,
            "sid": secrets.token_urlsafe(16),
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm="HS256"), expires

    def read(self, value: str) -> Session | None:
        """The session a cookie holds, or None (expired, forged, or not ours)."""
        try:
            claims = jwt.decode(
                value,
                self._key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                leeway=LEEWAY_S,
                # times are checked below against this signer's clock (injectable)
                options={
                    "require": ["exp", "iat", "sub", "aud", "sid"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            return None
        role = claims.get("role")
        if claims.get("typ") != SESSION_TYPE or role not in ROLES:
            return None
        if int(claims["exp"]) + LEEWAY_S < self._clock():
            return None
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        principal = Principal(subject=str(claims["sub"]), role=role, expires_at=expires_at)
        return Session(principal, str(claims["sid"]))

    def csrf_token(self, session: Session) -> str:
        mac = hmac.new(self._key, CSRF_LABEL + b":" + session.session_id.encode(), hashlib.sha256)
        return mac.hexdigest()

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf_token(session), token)
