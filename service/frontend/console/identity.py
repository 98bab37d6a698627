"""Who is looking at a console page: the API's bearer token (scripts, tests, a gateway
that forwards it) or the session cookie (a browser after sign-in). A request with
neither is sent to the sign-in page; one whose role has no console (a student) gets 403,
as the API gives that role for the staff routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from service.auth import BEARER, Principal, TokenVerifier
from service.errors import Forbidden, Unauthenticated
from service.frontend.console.session import COOKIE, SessionSigner

STAFF = frozenset({"teacher", "admin"})


class SignInRequired(Exception):
    """No credential at all: the browser is redirected to the sign-in page."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


@dataclass(frozen=True)
class ConsoleUser:
    principal: Principal
    via: Literal["bearer", "session"]
    # the token the forms of this page carry; None for a bearer caller, whose requests
    # a browser cannot forge (no cookie is involved)
    csrf_token: str | None

    @property
    def is_admin(self) -> bool:
        return self.principal.role == "admin"


def signer_of(request: Request) -> SessionSigner:
    signer: SessionSigner = request.app.state.console_sessions
    return signer


async def read_session(request: Request) -> Principal | None:
    """The signed-in caller of a request by its cookie, or None: also the hook the alert
    stream asks (``app.state.session_reader``), so an ``EventSource`` on a console page
    opens it with the cookie."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    session = signer_of(request).read(value)
    return None if session is None else session.principal


async def _console_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> ConsoleUser:
    if "authorization" in request.headers:
        if credentials is None or not credentials.credentials.strip():
            raise Unauthenticated("the Authorization header is not 'Bearer <token>'")
        verifier: TokenVerifier = request.app.state.verifier
        user = ConsoleUser(verifier.verify(credentials.credentials.strip()), "bearer", None)
    else:
        signer = signer_of(request)
        value = request.cookies.get(COOKIE)
        session = signer.read(value) if value else None
        if session is None:
            back_to = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInRequired(back_to)
        user = ConsoleUser(session.principal, "session", signer.csrf_token(session))
    if user.principal.role not in STAFF:
        raise Forbidden(f"role {user.principal.role!r} has no console (teachers and admins)")
    return user


ConsoleUserDep = Annotated[ConsoleUser, Depends(_console_user)]


def check_csrf(request: Request, user: ConsoleUser, token: str | None) -> None:
    """403 for a cookie-signed-in form post without its page's CSRF token."""
    if user.via != "session":
        return
    signer = signer_of(request)
    value = request.cookies.get(COOKIE) or ""
    session = signer.read(value)
    if session is None or not signer.csrf_ok(session, token):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page and try again")


def require_admin(user: ConsoleUser) -> None:
    if not user.is_admin:
        raise Forbidden(f"role {user.principal.role!r} may not do this (needs one of ['admin'])")
