"""Errors as RFC 9457 ``application/problem+json``, mapped in one place: each kind of
service error (service/errors.py) has one problem type here, with its status; errors
raised by the web framework (an unknown path, a body that cannot be read, a request
validation error) and the middleware's refusals get the type of their status.

A problem's ``type`` is the kind's name under a base URI, ``PROGRESS_PROBLEM_TYPE_BASE``
(default ``/problems/``, a reference relative to the API, which serves a page per type
at ``GET /problems/{kind}``: service/problem_routes.py). docs/api.md, 'Errors',
lists the types; tests/unit/test_problems.py keeps the two the same."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    Malformed,
    NotFound,
    ServiceError,
    Unauthenticated,
    Unavailable,
    UnknownReference,
)

PROBLEM_JSON = "application/problem+json"
DEFAULT_TYPE_BASE = "/problems/"
log = structlog.get_logger("errors")


@dataclass(frozen=True)
class ProblemType:
    """A kind of error: ``kind`` is the last segment of its ``type`` URI (stable; clients
    may switch on it), ``title`` the problem's title (the status's phrase, as before
    types were named), ``description`` what it means and what the client can do."""

    kind: str
    status: int
    description: str

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase


PROBLEM_TYPES: dict[str, ProblemType] = {
    t.kind: t
    for t in (
        ProblemType(
            "bad-request",
            400,
            "The request could not be read as the route takes it (for example a form body "
            "that does not parse). Fix the request.",
        ),
        ProblemType(
            "unknown-reference",
            400,
            "A page cursor or a stream position (Last-Event-ID) this API did not issue, or "
            "issued for another sort. Start again from the first page, or reconnect "
            "without Last-Event-ID.",
        ),
        ProblemType(
            "unauthenticated",
            401,
            "No bearer token, or one that does not verify (signature, expiry, issuer, "
            "audience, role claim); detail says which. Get a new token.",
        ),
        ProblemType(
            "forbidden",
            403,
            "The token's role may not do this (for example a teacher applying a rule set).",
        ),
        ProblemType(
            "not-found",
            404,
            "No such resource, or one out of the caller's reach (the same answer, so ids "
            "cannot be probed); also a path the API does not serve.",
        ),
        ProblemType(
            "method-not-allowed",
            405,
            "The path exists but not with this method; the Allow header lists the methods.",
        ),
        ProblemType(
            "conflict",
            409,
            "The request contradicts the current state: acknowledging a resolved alert, "
            "starting a background dry run while one runs (its `running` member names it).",
        ),
        ProblemType(
            "body-too-large",
            413,
            "The request body is larger than the API accepts (PROGRESS_MAX_REQUEST_BYTES; "
            "a OneRoster bundle: PROGRESS_MAX_ROSTER_BUNDLE_BYTES).",
        ),
        ProblemType(
            "invalid-input",
            422,
            "A parameter or body the caller can fix; detail names each field and why (a "
            "OneRoster bundle's `problems` member lists file, line and reason).",
        ),
        ProblemType(
            "internal-error",
            500,
            "A failure of the service itself; it has been logged. Retrying may not help.",
        ),
        ProblemType(
            "unavailable",
            503,
            "A dependency (Dapr sidecar, a student's actor, the database, placement) "
            "cannot be reached or failed; usually transient: retry later.",
        ),
    )
}

ERROR_KINDS: dict[type[ServiceError], str] = {
    UnknownReference: "unknown-reference",
    Unauthenticated: "unauthenticated",
    Forbidden: "forbidden",
    NotFound: "not-found",
    Conflict: "conflict",
    InvalidInput: "invalid-input",
    Malformed: "bad-request",
    Unavailable: "unavailable",
}
"""The problem type of each kind of service error (an unlisted one is internal-error)."""

STATUS_KINDS: dict[int, str] = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "body-too-large",
    422: "invalid-input",
    500: "internal-error",
    503: "unavailable",
}
"""The problem type of an error known only by its status (the framework's, the
middleware's). Another status has none: its type is ``about:blank`` (RFC 9457 4.2)."""

STATUS: dict[type[ServiceError], int] = {
    error: PROBLEM_TYPES[kind].status for error, kind in ERROR_KINDS.items()
}


def kind_of(error: ServiceError) -> str:
    """The problem type of the error's kind (its nearest listed base class)."""
    for cls in type(error).__mro__:
        if cls in ERROR_KINDS:
            return ERROR_KINDS[cls]
    return "internal-error"


def status_of(error: ServiceError) -> int:
    """The status of the error's kind."""
    return PROBLEM_TYPES[kind_of(error)].status


def type_base_of(app: Any) -> str:
    """The base of the type URIs: the app's ``problem_type_base`` setting (an ASGI
    scope's ``app``, or a request's), else the default."""
    settings = getattr(getattr(app, "state", None), "settings", None)
    base = getattr(settings, "problem_type_base", None)
    return base if isinstance(base, str) else DEFAULT_TYPE_BASE


def type_uri(kind: str, base: str = DEFAULT_TYPE_BASE) -> str:
    return f"{base}{kind}"


def problem_response(
    status: int,
    detail: str,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
    *,
    kind: str | None = None,
    base: str = DEFAULT_TYPE_BASE,
) -> JSONResponse:
    """A problem document of ``kind`` (by default the kind of ``status``) under ``base``."""
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    kind = kind or STATUS_KINDS.get(status)
    return JSONResponse(
        {
            **(extensions or {}),
            "type": type_uri(kind, base) if kind else "about:blank",
            "title": title or HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
        },
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's own 405 names only the
    first route whose path matches (one of PUT and DELETE /classes/{id}, say)."""
    path = request.url.path
    methods: set[str] = set()
    for route in request.app.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


ErrorPage = Callable[[Request, int, str], Response | None]
"""``app.state.error_page``: given a request, a status and a detail, a page to answer
with instead of the problem document (the console's HTML pages), or None."""


def _page(request: Request, status: int, detail: str) -> Response | None:
    render: ErrorPage | None = getattr(request.app.state, "error_page", None)
    return None if render is None else render(request, status, detail)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error as a problem document — or, where ``app.state.error_page`` answers for
    the request (a console page), as that page with the same status."""

    async def on_service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        kind = kind_of(exc)
        if kind == "internal-error":
            log.error("unmapped_service_error", error=repr(exc), exc_info=exc)
        page = _page(request, PROBLEM_TYPES[kind].status, exc.detail)
        if page is not None:
            return page
        return problem_response(
            PROBLEM_TYPES[kind].status,
            exc.detail,
            extensions=exc.extensions,
            kind=kind,
            base=type_base_of(request.app),
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        page = _page(request, exc.status_code, str(exc.detail))
        if page is not None:
            return page
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return problem_response(
            exc.status_code, str(exc.detail), headers=headers, base=type_base_of(request.app)
        )

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        page = _page(request, 422, "; ".join(parts))
        if page is not None:
            return page
        return problem_response(422, "; ".join(parts), base=type_base_of(request.app))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("unhandled_error", error=repr(exc), exc_info=exc)
        page = _page(request, 500, "internal error; it has been logged")
        if page is not None:
            return page
        return problem_response(
            500, "internal error; it has been logged", base=type_base_of(request.app)
        )

    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
