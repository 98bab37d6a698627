"""Unsubscribe links: a JWT (HS256) this service signs for itself, naming the teacher,
so the link works without signing in (docs/digests.md, "Unsubscribe").

No expiry, on purpose: a link in a months-old email must still stop the digests, and
all it can do is turn one teacher's digests off (turning them on again needs the
teacher's own sign-in). Its audience is neither the API's nor the stream tickets', so
it opens nothing else, and no bearer token or ticket is an unsubscribe token. The key is
derived (service/keys.py) from ``PROGRESS_DIGEST_UNSUBSCRIBE_SECRET`` when set, else
``APP_API_TOKEN``, else (development) the JWT secret: every replica verifies the links
another one put in a digest.
"""

from __future__ import annotations

import jwt

from service.keys import derived_key
from service.settings import Settings

AUDIENCE = "progress-service/digest-unsubscribe"
TOKEN_TYPE = "digest-unsubscribe"
KEY_LABEL = b"progress-service digest unsubscribe v1"


class BadUnsubscribeToken(ValueError):
    pass


class UnsubscribeTokens:
    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> UnsubscribeTokens:
        return cls(derived_key(settings, KEY_LABEL, settings.digest_unsubscribe_secret))

    def sign(self, teacher_id: str) -> str:
        claims = {"sub": teacher_id, "aud": AUDIENCE, "typ": TOKEN_TYPE}
        return jwt.encode(claims, self._key, algorithm="HS256")

    def teacher_of(self, token: str) -> str:
        """The teacher a token was signed for; :class:`BadUnsubscribeToken` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"require": ["sub", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise BadUnsubscribeToken("this unsubscribe link is not valid") from exc
        if claims.get("typ") != TOKEN_TYPE or not isinstance(claims.get("sub"), str):
            raise BadUnsubscribeToken("this unsubscribe link is not valid")
        return str(claims["sub"])
