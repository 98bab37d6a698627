"""Who may open ``GET /struggles/stream``: a bearer token, a stream ticket, or (a hook
for the console's sign-in) a session.

A browser's ``EventSource`` cannot send an ``Authorization`` header. A front end
therefore asks ``POST /struggles/stream/tickets`` (with its bearer token) for a ticket and
opens ``/struggles/stream?ticket=...``. A ticket is a short JWT (HS256) that this service
signs for itself: the caller's ``sub`` and ``role``, optionally a class it is bound to,
and an expiry (``PROGRESS_STREAM_TICKET_TTL_S``, 60 s by default, never later than the
bearer token it was minted with). Nothing is stored: any replica that has the same key
verifies a ticket another one minted (decision 015).

A ticket is not single-use: within its lifetime it opens the stream again, so the
automatic reconnection of an ``EventSource`` after a network blip works with the same
URL. Single use would need a shared store of spent tickets; the short lifetime bounds
what a ticket leaked from a URL is worth, and it opens only the stream (its audience is
not this API's: as a bearer token it is refused, and a bearer token is no ticket).

The key is ``HMAC-SHA256(base, "progress-service stream ticket v1")`` where the base is
``PROGRESS_STREAM_TICKET_SECRET`` when set, else ``APP_API_TOKEN`` (required outside
development and the same on every replica), else (development) the JWT secret.

The third way in, a session cookie, is a hook: ``app.state.session_reader`` (None until
the console's sign-in sets it) is an async function of the request returning the
signed-in :class:`~service.auth.Principal` or None. The stream asks it when the request
carries neither a header nor a ticket.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials

from service.auth import BEARER, ROLES, Principal, TokenVerifier
from service.errors import Forbidden, Unauthenticated
from service.keys import derived_key
from service.settings import Settings

AUDIENCE = "progress-service/struggles-stream"
TICKET_TYPE = "stream-ticket"
KEY_LABEL = b"progress-service stream ticket v1"
LEEWAY_S = 5  # clock skew between the replica that minted a ticket and the one reading it
STREAM_ROLES = frozenset({"teacher", "admin"})

SessionReader = Callable[[Request], Awaitable[Principal | None]]
"""The session hook's type: the console's sign-in sets ``app.state.session_reader``."""

TICKET = APIKeyQuery(
    name="ticket",
    scheme_name="streamTicket",
    description="A stream ticket from POST /struggles/stream/tickets (for an EventSource, "
    "which cannot send a header); valid for GET /struggles/stream only.",
    auto_error=False,  # the 401 below says what is wrong
)


def ticket_key(settings: Settings) -> bytes:
    """The signing key: derived, so the base secret is never used as is."""
    return derived_key(settings, KEY_LABEL, settings.stream_ticket_secret)


@dataclass(frozen=True)
class StreamCaller:
    """Who opens the stream, how, and the class a ticket binds them to."""

    principal: Principal
    via: Literal["bearer", "ticket", "session"]
    class_id: str | None = None


class TicketSigner:
    def __init__(self, key: bytes, ttl_s: int, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._ttl = timedelta(seconds=ttl_s)
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> TicketSigner:
        return cls(ticket_key(settings), settings.stream_ticket_ttl_s)

    def mint(self, principal: Principal, class_id: str | None = None) -> tuple[str, datetime]:
        """A ticket for ``principal`` (bound to ``class_id`` when given), and when it
        expires: after the configured lifetime, or when the caller's token does."""
        now = datetime.fromtimestamp(int(self._clock()), UTC)
        expires = now + self._ttl
        if principal.expires_at is not None:
            expires = min(expires, principal.expires_at)
        claims: dict[str, object] = {
            "typ": TICKET_TYPE,
            "aud": AUDIENCE,
            "sub": principal.subject,
            "role": principal.role,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        if class_id is not None:
            claims["class_id"] = class_id
        return jwt.encode(claims, self._key, algorithm="HS256"), expires

    def verify(self, ticket: str) -> StreamCaller:
        """The caller a ticket names, or 401 saying why not."""
        try:
            claims = jwt.decode(
                ticket,
                self._key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("stream ticket expired: ask for a new one") from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthenticated("stream ticket signature does not verify") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"not a stream ticket of this service: {exc}") from exc
        role = claims.get("role")
        class_id = claims.get("class_id")
        if (
            claims.get("typ") != TICKET_TYPE
            or role not in ROLES
            or not (class_id is None or isinstance(class_id, str))
        ):
            raise Unauthenticated("not a stream ticket of this service")
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        principal = Principal(subject=str(claims["sub"]), role=role, expires_at=expires_at)
        return StreamCaller(principal, "ticket", class_id)


async def _stream_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    ticket: Annotated[str | None, Security(TICKET)],
) -> StreamCaller:
    """The caller of the stream, tried in this order: an ``Authorization`` header (when
    one is sent it alone counts, valid or not), a ``?ticket=``, the session hook. Staff
    only (403 for a student)."""
    caller: StreamCaller | None = None
    if "authorization" in request.headers:
        if credentials is None or not credentials.credentials.strip():
            raise Unauthenticated("the Authorization header is not 'Bearer <token>'")
        verifier: TokenVerifier = request.app.state.verifier
        caller = StreamCaller(verifier.verify(credentials.credentials.strip()), "bearer")
    elif ticket is not None:
        signer: TicketSigner = request.app.state.stream_tickets
        caller = signer.verify(ticket)
    else:
        reader: SessionReader | None = getattr(request.app.state, "session_reader", None)
        signed_in = None if reader is None else await reader(request)
        if signed_in is not None:
            caller = StreamCaller(signed_in, "session")
    if caller is None:
        raise Unauthenticated(
            "missing 'Authorization: Bearer <token>' header or ?ticket= "
            "(POST /struggles/stream/tickets gives one)"
        )
    if caller.principal.role not in STREAM_ROLES:
        raise Forbidden(
            f"role {caller.principal.role!r} may not do this (needs one of {sorted(STREAM_ROLES)})"
        )
    return caller


StreamCallerDep = Annotated[StreamCaller, Depends(_stream_caller)]
