"""Signing in and out of the console.

A browser signs in by pasting a token (in development ``make token``) into the sign-in
form, or — behind the platform's gateway — by arriving with the gateway's
``Authorization: Bearer`` header on ``GET /console/sign-in``, which is exchanged for the
session cookie at once. The sign-in form itself is protected against login CSRF with a
double-submitted token (a cookie and a hidden field that must match)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from service.auth import TokenVerifier
from service.errors import Forbidden, Unauthenticated
from service.frontend.console.identity import ConsoleUserDep, check_csrf, signer_of
from service.frontend.console.rendering import PREFIX, render, safe_next
from service.frontend.console.session import COOKIE

router = APIRouter(prefix=PREFIX, include_in_schema=False)
SIGN_IN_CSRF = "progress_console_signin"


def _sign_in_form(
    request: Request, back_to: str, error: str | None = None, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    development = request.app.state.settings.environment == "development"
    page = render(
        request,
        "sign_in.html",
        None,
        status,
        next=back_to,
        error=error,
        sign_in_token=token,
        development=development,
        title="Sign in",
    )
    page.set_cookie(
        SIGN_IN_CSRF,
        token,
        max_age=900,
        path=f"{PREFIX}/sign-in",
        httponly=True,
        secure=signer_of(request).secure,
        samesite="strict",
    )
    return page


def _signed_in(request: Request, bearer: str, back_to: str) -> Response:
    verifier: TokenVerifier = request.app.state.verifier
    principal = verifier.verify(bearer)
    if principal.role not in ("teacher", "admin"):
        raise Forbidden(f"role {principal.role!r} has no console (teachers and admins)")
    signer = signer_of(request)
    value, expires = signer.mint(principal)
    response = RedirectResponse(safe_next(back_to), status_code=303)
    max_age = max(0, int((expires - datetime.now(UTC)).total_seconds()))
    response.set_cookie(
        COOKIE,
        value,
        max_age=max_age,
        path="/",  # the console's pages and the alert stream its pages open
        httponly=True,
        secure=signer.secure,
        samesite="lax",
    )
    response.delete_cookie(SIGN_IN_CSRF, path=f"{PREFIX}/sign-in")
    return response


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form; with a bearer header (a gateway in front), the exchange."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and header[7:].strip():
        return _signed_in(request, header[7:].strip(), next or "")
    return _sign_in_form(request, safe_next(next))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=8192)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
    sign_in_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    expected = request.cookies.get(SIGN_IN_CSRF)
    if not expected or not secrets.compare_digest(expected, sign_in_token):
        raise Forbidden("the sign-in form expired or did not come from this console: try again")
    if not token.strip():
        return _sign_in_form(request, safe_next(next), "Paste a token to sign in.", 422)
    try:
        return _signed_in(request, token.strip(), next)
    except (Unauthenticated, Forbidden) as exc:
        status = 401 if isinstance(exc, Unauthenticated) else 403
        return _sign_in_form(request, safe_next(next), f"Not signed in: {exc.detail}", status)


@router.post("/sign-out")
async def sign_out(
    request: Request,
    user: ConsoleUserDep,
    csrf_token: Annotated[str | None, Form(max_length=128)] = None,
) -> Response:
    check_csrf(request, user, csrf_token)
    response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
