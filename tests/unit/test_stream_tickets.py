"""Stream tickets (issue 22): signed, expiring, bound to the caller and optionally to a
class, verified by any replica with the same settings; expired, forged and tampered
tickets are refused; a ticket is no bearer token and a bearer token is no ticket."""

from __future__ import annotations

import base64
import json
import logging
import time
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi import FastAPI, Request

from service.auth import Principal, TokenVerifier, Unauthorized
from service.dev_token import mint as mint_token
from service.errors import Unauthenticated
from service.frontend.stream_tickets import (
    AUDIENCE,
    SessionReader,
    StreamCallerDep,
    TicketSigner,
    ticket_key,
)
from service.log_config import MASK, ScrubAccessLog
from service.problems import install_problem_handlers
from service.settings import DEV_JWT_SECRET, Settings

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx use
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TEACHER = Principal(subject="t-1", role="teacher")


def replica(**settings: Any) -> TicketSigner:
    """The signer a replica started with these settings builds (as create_app does)."""
    return TicketSigner.from_settings(Settings(**settings))


def segments(ticket: str) -> list[str]:
    return ticket.split(".")


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def payload(ticket: str) -> dict[str, object]:
    body = segments(ticket)[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return decoded


def test_a_ticket_names_its_caller_and_class_and_expires_after_the_ttl() -> None:
    signer = replica(APP_API_TOKEN="app-token", stream_ticket_ttl_s=60)
    before = datetime.now(UTC).replace(microsecond=0)
    ticket, expires_at = signer.mint(TEACHER, "class-a")
    assert before + timedelta(seconds=60) <= expires_at <= before + timedelta(seconds=61)
    caller = signer.verify(ticket)
    assert (caller.principal.subject, caller.principal.role) == ("t-1", "teacher")
    assert (caller.via, caller.class_id) == ("ticket", "class-a")
    assert caller.principal.expires_at == expires_at
    assert signer.verify(signer.mint(TEACHER)[0]).class_id is None


def test_a_ticket_minted_on_one_replica_opens_the_stream_on_another() -> None:
    """Stateless: nothing is remembered, the same settings give the same key."""
    one, other = replica(APP_API_TOKEN="shared"), replica(APP_API_TOKEN="shared")
    ticket, _ = one.mint(TEACHER)
    assert other.verify(ticket).principal.subject == "t-1"
    assert other.verify(ticket).principal.subject == "t-1"  # not single-use: reconnects
    with pytest.raises(Unauthenticated, match="signature does not verify"):
        replica(APP_API_TOKEN="another deployment").verify(ticket)


def test_an_expired_ticket_is_refused() -> None:
    past = time.time() - 120  # minted two minutes ago, lived 60 s (+5 s of clock skew)
    signer = TicketSigner(ticket_key(Settings()), 60, clock=lambda: past)
    ticket, expires_at = signer.mint(TEACHER)
    assert expires_at < datetime.now(UTC)
    with pytest.raises(Unauthenticated, match="expired"):
        replica().verify(ticket)


def test_a_ticket_never_outlives_the_token_it_was_minted_with() -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10)
    principal = Principal(subject="t-1", role="teacher", expires_at=soon)
    ticket, expires_at = replica(stream_ticket_ttl_s=300).mint(principal)
    assert expires_at == soon
    assert payload(ticket)["exp"] == int(soon.timestamp())


def test_the_bearer_tokens_expiry_reaches_the_principal() -> None:
    token = mint_token("teacher", "t-1", ttl_s=30)
    principal = TokenVerifier(Settings()).verify(token)
    assert principal.expires_at is not None
    assert timedelta(seconds=25) < principal.expires_at - datetime.now(UTC) <= timedelta(seconds=30)


@pytest.mark.parametrize(
    "change",
    [
        {"sub": "t-2"},  # another teacher
        {"role": "admin"},  # more reach
        {"class_id": "class-b"},  # another class
        {"exp": 4102444800},  # a longer life (2100)
    ],
)
def test_a_tampered_ticket_is_refused(change: dict[str, object]) -> None:
    signer = replica()
    ticket, _ = signer.mint(TEACHER, "class-a")
    header, _, signature = segments(ticket)
    forged = f"{header}.{b64({**payload(ticket), **change})}.{signature}"
    with pytest.raises(Unauthenticated, match="signature does not verify"):
        signer.verify(forged)


def test_forged_tickets_are_refused() -> None:
    signer = replica()
    now = int(time.time())
    claims: dict[str, object] = {"typ": "stream-ticket", "aud": AUDIENCE, "sub": "t-1"}
    claims |= {"role": "teacher", "iat": now, "exp": now + 60}
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    guessed_key = jwt.encode(claims, DEV_JWT_SECRET, algorithm="HS256")  # not the derived key
    for forged in (unsigned, guessed_key, "not-a-ticket", ""):
        with pytest.raises(Unauthenticated):
            signer.verify(forged)


def test_a_signed_ticket_of_another_kind_or_role_is_refused() -> None:
    key = ticket_key(Settings())
    now = int(time.time())
    good: dict[str, object] = {"typ": "stream-ticket", "aud": AUDIENCE, "sub": "t-1"}
    good |= {"role": "teacher", "iat": now, "exp": now + 60}
    for claims in (
        {**good, "typ": "something-else"},
        {**good, "role": "superuser"},
        {**good, "aud": "progress-service"},
        {**good, "class_id": ["a", "b"]},
        {k: v for k, v in good.items() if k != "exp"},
    ):
        with pytest.raises(Unauthenticated):
            replica().verify(jwt.encode(claims, key, algorithm="HS256"))


def test_a_ticket_is_no_bearer_token_and_a_bearer_token_is_no_ticket() -> None:
    settings = Settings()  # development: the ticket key derives from the JWT secret
    ticket, _ = TicketSigner.from_settings(settings).mint(TEACHER)
    with pytest.raises(Unauthorized):
        TokenVerifier(settings).verify(ticket)
    with pytest.raises(Unauthenticated):
        TicketSigner.from_settings(settings).verify(mint_token("teacher", "t-1"))


def test_the_key_comes_from_the_ticket_secret_then_the_app_token_then_the_jwt_secret() -> None:
    jwt_only = ticket_key(Settings())
    app_token = ticket_key(Settings(APP_API_TOKEN="app"))
    own = ticket_key(Settings(APP_API_TOKEN="app", stream_ticket_secret="own"))
    assert len({jwt_only, app_token, own}) == 3
    assert own == ticket_key(Settings(stream_ticket_secret="own"))
    # derived (HMAC-SHA256), never the base secret itself
    assert all(len(key) == 32 for key in (jwt_only, app_token, own))
    assert jwt_only != DEV_JWT_SECRET.encode()


def test_the_ticket_lifetime_is_bounded() -> None:
    with pytest.raises(ValueError, match="stream_ticket_ttl_s"):
        Settings(stream_ticket_ttl_s=3600)
    with pytest.raises(ValueError, match="stream_ticket_ttl_s"):
        Settings(stream_ticket_ttl_s=1)


def test_uvicorns_access_log_masks_a_ticket_in_the_query_string() -> None:
    ticket, _ = replica().mint(TEACHER)
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/struggles/stream?ticket={ticket}", "1.1", 200),
        None,
    )
    assert ScrubAccessLog().filter(record)
    line = record.getMessage()
    assert ticket not in line and f"/struggles/stream?ticket={MASK}" in line


# --- the stream's credentials: header, ticket, session hook -------------------------------


def stream_client(session_reader: SessionReader | None = None) -> TestClient:
    """An app with the stream's credential dependency alone (as create_app sets it up)."""
    settings = Settings()
    app = FastAPI()
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.stream_tickets = TicketSigner.from_settings(settings)
    app.state.session_reader = session_reader
    install_problem_handlers(app)

    @app.get("/who")
    async def who(caller: StreamCallerDep) -> dict[str, Any]:
        principal = caller.principal
        return {"sub": principal.subject, "via": caller.via, "class_id": caller.class_id}

    return TestClient(app)


def test_the_stream_takes_a_header_or_a_ticket() -> None:
    client = stream_client()
    bearer = {"Authorization": f"Bearer {mint_token('teacher', 't-1')}"}
    assert client.get("/who", headers=bearer).json() == {
        "sub": "t-1",
        "via": "bearer",
        "class_id": None,
    }
    ticket, _ = replica().mint(TEACHER, "class-a")
    assert client.get("/who", params={"ticket": ticket}).json() == {
        "sub": "t-1",
        "via": "ticket",
        "class_id": "class-a",
    }
    assert client.get("/who").status_code == 401
    assert client.get("/who", params={"ticket": ticket + "x"}).status_code == 401


def test_a_header_sent_is_the_credential_even_beside_a_good_ticket() -> None:
    ticket, _ = replica().mint(TEACHER)
    r = stream_client().get(
        "/who", params={"ticket": ticket}, headers={"Authorization": "Bearer expired.or.bad"}
    )
    assert r.status_code == 401


def test_students_may_not_open_the_stream_whatever_the_credential() -> None:
    client = stream_client()
    student = Principal(subject="s-1", role="student")
    bearer = {"Authorization": f"Bearer {mint_token('student', 's-1')}"}
    assert client.get("/who", headers=bearer).status_code == 403
    assert client.get("/who", params={"ticket": replica().mint(student)[0]}).status_code == 403


def test_a_session_plugs_in_as_the_third_way() -> None:
    """The hook the console's sign-in sets: asked only without a header or a ticket."""
    asked: list[str] = []

    async def session(request: Request) -> Principal | None:
        asked.append(request.url.path)
        if request.cookies.get("session") == "good":
            return Principal(subject="t-9", role="teacher")
        return None

    client = stream_client(session)
    client.cookies.set("session", "good")
    r = client.get("/who")
    assert r.json() == {"sub": "t-9", "via": "session", "class_id": None}
    client.cookies.set("session", "stale")
    assert client.get("/who").status_code == 401
    ticket, _ = replica().mint(TEACHER)
    assert client.get("/who", params={"ticket": ticket}).json()["via"] == "ticket"
    assert asked == ["/who", "/who"]
