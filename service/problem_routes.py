"""GET /problems/{kind}: a page per kind of error, what a problem document's ``type``
(``/problems/{kind}`` by default, relative to the API) resolves to. No token: it
documents the API, it tells nothing about its data."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from service.errors import NotFound
from service.problems import PROBLEM_TYPES
from service.schemas import problem

router = APIRouter(tags=["errors"])

KindName = Annotated[str, Path(description="the last segment of a problem's type URI")]


def page(kind: str) -> str:
    """The page of one problem type (docs/api.md, 'Errors', says the same)."""
    found = PROBLEM_TYPES[kind]
    others = "".join(
        f'<li><a href="{escape(k)}">{escape(k)}</a> ({t.status})</li>'
        for k, t in PROBLEM_TYPES.items()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(kind)}: Progress Service problem type</title></head><body>"
        f"<h1>{escape(kind)}</h1>"
        f"<p>Status {found.status}, title <q>{escape(found.title)}</q>.</p>"
        f"<p>{escape(found.description)}</p>"
        "<p>Problem documents (<code>application/problem+json</code>) of this kind carry "
        f"a <code>type</code> ending in <code>{escape(kind)}</code>; their "
        "<code>detail</code> says what happened this time.</p>"
        f"<h2>Every problem type</h2><ul>{others}</ul></body></html>"
    )


@router.get(
    "/problems/{kind}",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "what the kind of error means"},
        404: problem("no such problem type"),
    },
)
async def problem_type(kind: KindName) -> HTMLResponse:
    """The page a problem document's ``type`` points at (by default): what that kind of
    error means and what the client can do. docs/api.md, 'Errors', lists them all."""
    if kind not in PROBLEM_TYPES:
        raise NotFound(f"no problem type {kind!r} (one of {sorted(PROBLEM_TYPES)})")
    return HTMLResponse(page(kind))
