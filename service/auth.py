"""Bearer JWT verification and role checks, in one place.

The platform gateway issues the tokens; this service verifies signature, ``exp``,
``nbf``, issuer and audience, and reads the role from a claim (``role`` by default).
The key comes from settings: an HS256 secret, an RS256 public key (PEM file), or a
JWKS file (RS256, key chosen by the token's ``kid``). ``alg: none`` and any algorithm
other than the configured one are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.errors import Forbidden, Unauthenticated
from service.settings import Settings

Role = Literal["teacher", "admin", "student"]
ROLES: frozenset[str] = frozenset({"teacher", "admin", "student"})


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    # when the credential it came from expires (a stream ticket never outlives it)
    expires_at: datetime | None = None


Unauthorized = Unauthenticated  # the name the token checks below use


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._jwks: jwt.PyJWKSet | None = None
        self._key: Any
        if settings.jwt_jwks_file is not None:
            self._algorithm = "RS256"
            self._jwks = jwt.PyJWKSet.from_json(settings.jwt_jwks_file.read_text())
        elif settings.jwt_public_key_file is not None:
            self._algorithm = "RS256"
            self._key = settings.jwt_public_key_file.read_text()
        else:
            self._algorithm = "HS256"
            self._key = settings.jwt_secret.get_secret_value()

    def _key_for(self, token: str) -> Any:
        if self._jwks is None:
            return self._key
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._jwks.keys:
            if key.key_id == kid:
                return key.key
        raise Unauthorized(f"token signed with unknown key id {kid!r}")

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=[self._algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=self._settings.jwt_leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthorized("token not valid yet (nbf)") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("token audience is not this service") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized("token issuer is not trusted") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"token lacks the {exc.claim!r} claim") from exc
        except jwt.InvalidAlgorithmError as exc:
            raise Unauthorized(f"token algorithm not accepted (only {self._algorithm})") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthorized("token signature does not verify") from exc
        except (jwt.PyJWTError, json.JSONDecodeError, ValueError) as exc:
            raise Unauthorized(f"malformed token: {exc}") from exc
        role = claims.get(self._settings.jwt_role_claim)
        if role not in ROLES:
            raise Unauthorized(
                f"token has no valid {self._settings.jwt_role_claim!r} claim "
                f"(one of {sorted(ROLES)})"
            )
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        return Principal(subject=str(claims["sub"]), role=role, expires_at=expires_at)


BEARER = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="The platform gateway's JWT (locally: `make token`); the role is its "
    "`role` claim: teacher, admin or student.",
    auto_error=False,  # the 401 below says what is wrong
)
"""The OpenAPI security scheme: every route that depends on the caller (directly or
through :func:`require`) lists it, so /docs has Authorize and generated clients send
the token; routes that need no token (health, readiness, metrics, the problem type
pages) do not."""


async def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> Principal:
    """The caller, from the bearer token. Async on purpose: FastAPI runs a plain function
    dependency in a worker thread, a thread hop on every request (seen in the profile
    of the class views); verifying an HS256 or RS256 token is microseconds of CPU."""
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("missing 'Authorization: Bearer <token>' header")
    verifier: TokenVerifier = request.app.state.verifier
    return verifier.verify(credentials.credentials.strip())


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def require(*roles: Role) -> Any:
    """Dependency: the caller must hold one of ``roles`` (403 otherwise)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(
                f"role {principal.role!r} may not do this (needs one of {sorted(roles)})"
            )
        return principal

    return Depends(check)


Staff = Annotated[Principal, require("teacher", "admin")]
Admin = Annotated[Principal, require("admin")]
