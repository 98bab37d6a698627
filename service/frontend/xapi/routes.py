"""The xAPI Statements resource as a Learning Record Provider sends to it
(``POST /xapi/statements``, ``PUT /xapi/statements?statementId=``), the About resource,
and the admins' statement producer credentials (docs/xapi.md)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field

from service.auth import BEARER, Admin, TokenVerifier
from service.errors import Forbidden, Malformed, Unauthenticated
from service.frontend.xapi.producers import Producers
from service.frontend.xapi.statements import Answer, StatementIntake
from service.frontend.xapi.validation import VERSION_SERVED, BadStatement, check_batch, version_ok
from service.metrics import XAPI_STATEMENTS
from service.schemas import problem
from service.settings import Settings

router = APIRouter(tags=["xapi"])
public_router = APIRouter(tags=["xapi"])  # the About resource: no credentials (xAPI)
STATEMENTS = "/xapi/statements"
VersionHeader = Annotated[
    str | None,
    Header(
        alias="X-Experience-API-Version",
        description="Required: the xAPI version of the request, 1.0.x (1.0.3 served).",
    ),
]
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"type": "object", "description": "one xAPI 1.0.3 statement"},
                    {"type": "array", "items": {"type": "object"}, "description": "statements"},
                ]
            }
        }
    },
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem("not JSON, a missing or unsupported version header, or a statement that is "
                 "not valid xAPI or that the mapping refuses (statement_index, field)"),
    401: problem("no statement producer credentials (HTTP Basic) or admin bearer token"),
    409: problem("a statement id received before with other content (statement_id)"),
}  # fmt: skip


def _producers(request: Request) -> Producers:
    producers: Producers = request.app.state.xapi_producers
    return producers


def _state(request: Request) -> tuple[StatementIntake, Settings]:
    return request.app.state.xapi_intake, request.app.state.settings


BASIC = HTTPBasic(
    scheme_name="statementProducer",
    description="A statement producer's credentials (POST /statement-producers): the "
    "producer id as user, its secret as password; valid for /xapi/statements only.",
    auto_error=False,  # the 401 below says what is wrong
)


async def _sender(
    request: Request,
    basic: Annotated[HTTPBasicCredentials | None, Security(BASIC)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> str:
    """Who sends: a statement producer (HTTP Basic) or an admin (bearer JWT)."""
    if basic is not None:
        return await _producers(request).authenticate(basic.username, basic.password)
    if bearer is not None and bearer.credentials.strip():
        verifier: TokenVerifier = request.app.state.verifier
        principal = verifier.verify(bearer.credentials.strip())
        if principal.role != "admin":
            raise Forbidden("statements come from statement producers (or an admin)")
        return f"admin:{principal.subject}"
    raise Unauthenticated(
        "send a statement producer's HTTP Basic credentials (docs/xapi.md, Credentials)"
    )


Sender = Annotated[str, Depends(_sender)]


def _version(header: str | None) -> None:
    if header is None:
        raise Malformed("missing X-Experience-API-Version header (1.0.x)")
    if not version_ok(header):
        raise Malformed(f"X-Experience-API-Version {header!r} is not supported: send 1.0.x")


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed(f"body is not JSON: {exc}") from exc


async def _statements(request: Request, settings: Settings) -> list[Any]:
    body = await _json_body(request)
    statements = body if isinstance(body, list) else [body]
    if len(statements) > settings.xapi_max_statements:
        raise Malformed(
            f"{len(statements)} statements in one request; at most "
            f"{settings.xapi_max_statements} (send them in several requests)"
        )
    return statements


async def _take(request: Request, statements: list[Any], sender: str, single: bool) -> Answer:
    intake, _ = _state(request)
    try:
        checked = check_batch(statements)
        return await intake.take(checked, sender)
    except BadStatement as exc:
        XAPI_STATEMENTS.labels(outcome="refused").inc(len(statements))
        raise Malformed(
            str(exc) + "; no statement of this request was taken",
            {"statement_index": None if single else exc.index, "field": exc.field},
        ) from exc


@router.post(
    STATEMENTS,
    summary="Send xAPI statements (one or an array); answers their ids in order",
    openapi_extra={"requestBody": _BODY},
    responses=_RESPONSES,
)
async def post_statements(
    request: Request, sender: Sender, version: VersionHeader = None
) -> Response:
    _version(version)
    _, settings = _state(request)
    statements = await _statements(request, settings)
    answer = await _take(request, statements, sender, single=False)
    return Response(
        json.dumps(answer.ids),
        media_type="application/json",
        headers={"X-Progress-Statements": answer.header()},
    )


@router.put(
    STATEMENTS,
    summary="Send one xAPI statement under the id given",
    status_code=204,
    openapi_extra={"requestBody": _BODY},
    responses=_RESPONSES,
)
async def put_statement(
    request: Request,
    sender: Sender,
    statement_id: Annotated[str | None, Query(alias="statementId")] = None,
    version: VersionHeader = None,
) -> Response:
    _version(version)
    try:
        wanted = str(uuid.UUID(statement_id or ""))
    except ValueError as exc:
        raise Malformed(f"statementId {statement_id!r} is not a UUID") from exc
    statement = await _json_body(request)
    if not isinstance(statement, dict):
        raise Malformed("PUT takes one statement (a JSON object)")
    if "id" in statement and str(statement["id"]).lower() != wanted:
        raise Malformed(f"the statement's id {statement['id']!r} is not statementId {wanted}")
    answer = await _take(request, [{**statement, "id": wanted}], sender, single=True)
    return Response(status_code=204, headers={"X-Progress-Statements": answer.header()})


@public_router.get("/xapi/about", summary="The xAPI versions this endpoint speaks")
async def about() -> dict[str, Any]:
    return {"version": [VERSION_SERVED]}


class ProducerIn(BaseModel):
    model_config = ConfigDict(strict=True)  # "5" is not 5, false is not 0
    producer_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="the Basic user name")
    name: str = Field(min_length=1, max_length=200, description="what the tool is")


class RotateIn(BaseModel):
    model_config = ConfigDict(strict=True)
    previous_valid_for_s: int = Field(
        default=0, ge=0, le=7 * 86400, description="keep the old secret valid this long"
    )


@router.get("/statement-producers", summary="Statement producers (no secrets)")
async def list_producers(request: Request, admin: Admin) -> list[dict[str, Any]]:
    producers = _producers(request)
    return [p.public() for p in await producers.list()]


@router.post(
    "/statement-producers",
    status_code=201,
    summary="Create a statement producer; its secret is in this answer only",
    responses={409: problem("the producer id exists")},
)
async def create_producer(request: Request, body: ProducerIn, admin: Admin) -> dict[str, Any]:
    producers = _producers(request)
    producer, secret = await producers.create(body.producer_id, body.name)
    return {**producer.public(), "secret": secret}


@router.post(
    "/statement-producers/{producer_id}/rotate",
    summary="A new secret (in this answer only); the old one for previous_valid_for_s",
    responses={404: problem("no active producer of that id")},
)
async def rotate_producer(
    request: Request, producer_id: str, body: RotateIn, _: Admin
) -> dict[str, Any]:
    producers = _producers(request)
    producer, secret = await producers.rotate(
        producer_id, timedelta(seconds=body.previous_valid_for_s)
    )
    return {**producer.public(), "secret": secret}


@router.delete(
    "/statement-producers/{producer_id}",
    status_code=204,
    summary="Revoke a statement producer's credentials (at once, both secrets)",
    responses={404: problem("no producer of that id")},
)
async def revoke_producer(request: Request, producer_id: str, admin: Admin) -> Response:
    producers = _producers(request)
    await producers.revoke(producer_id)
    return Response(status_code=204)
