"""Templates, and the console's error pages: an error on a console page (404 for a class
the caller does not teach, 403 for a refused form, ...) is a page with the same status
and detail the API gives, not a problem document."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from service.frontend.console.identity import ConsoleUser, SignInRequired

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PREFIX = "/console"
TEMPLATES = Jinja2Templates(directory=HERE / "templates")  # autoescapes .html
TITLES = {
    401: "Please sign in again",
    403: "Not allowed",
    404: "Not found",
    413: "Too large",
    422: "Not accepted",
    500: "Something went wrong",
    503: "Not available right now",
}


def is_console(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def render(
    request: Request,
    name: str,
    user: ConsoleUser | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page: ``user`` (None on the sign-in and error pages) and its CSRF token reach
    every template, for the header and the forms."""
    context.update(user=user, csrf_token=user.csrf_token if user else None)
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"  # pages show one person's students
    return response


def error_page(request: Request, status: int, detail: str) -> Response | None:
    """``app.state.error_page`` (service/problems.py): console paths get a page."""
    if not is_console(request):
        return None
    title = TITLES.get(status, "Error")
    return render(request, "error.html", None, status, title=title, detail=detail, code=status)


def sign_in_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(f"{PREFIX}/sign-in?next={quote(exc.back_to)}", status_code=303)


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: a console path only (no open redirect)."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//"):
        return value
    return PREFIX + "/"
