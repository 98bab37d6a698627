"""service/frontend/console/session.py: the console's session cookie and its forms' CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from service.auth import Principal
from service.frontend.console.rendering import safe_next
from service.frontend.console.session import SessionSigner
from service.settings import Settings

NOW = 1_800_000_000.0
KEY = b"k" * 32


def signer(clock: float = NOW, key: bytes = KEY, ttl_s: int = 3600) -> SessionSigner:
    return SessionSigner(key, ttl_s, secure=True, clock=lambda: clock)


def teacher(expires_at: datetime | None = None) -> Principal:
    return Principal("ms-lee", "teacher", expires_at)


def test_a_session_reads_back_as_its_principal() -> None:
    value, expires = signer().mint(teacher())
    session = signer().read(value)
    assert session is not None
    assert (session.principal.subject, session.principal.role) == ("ms-lee", "teacher")
    assert expires == datetime.fromtimestamp(NOW, UTC) + timedelta(hours=1)


def test_a_session_never_outlives_the_token_it_was_exchanged_for() -> None:
    token_expiry = datetime.fromtimestamp(NOW + 60, UTC)
    _, expires = signer().mint(teacher(token_expiry))
    assert expires == token_expiry


def test_expired_forged_and_foreign_cookies_read_as_no_session() -> None:
    value, _ = signer().mint(teacher())
    assert signer(clock=NOW + 3600 + 60).read(value) is None  # expired
    assert signer(key=b"x" * 32).read(value) is None  # another key
    assert signer().read(value[:-2] + "AA") is None  # tampered signature
    assert signer().read("not-a-jwt") is None


def test_csrf_token_is_bound_to_the_session() -> None:
    first = signer().read(signer().mint(teacher())[0])
    second = signer().read(signer().mint(teacher())[0])
    assert first is not None and second is not None
    token = signer().csrf_token(first)
    assert signer().csrf_ok(first, token)
    assert not signer().csrf_ok(second, token)  # another sign-in of the same teacher
    assert not signer().csrf_ok(first, None)
    assert not signer().csrf_ok(first, "")


@pytest.mark.parametrize(
    ("environment", "secure"), [("development", False), ("production", True), ("staging", True)]
)
def test_cookie_is_secure_outside_development(environment: str, secure: bool) -> None:
    settings = Settings(
        environment=environment,
        jwt_secret=SecretStr("s" * 40),
        APP_API_TOKEN=SecretStr("t" * 32),
    )
    assert SessionSigner.from_settings(settings).secure is secure


def test_replicas_with_the_same_app_token_read_each_others_sessions() -> None:
    one = SessionSigner.from_settings(Settings(APP_API_TOKEN=SecretStr("t" * 32)))
    other = SessionSigner.from_settings(Settings(APP_API_TOKEN=SecretStr("t" * 32)))
    stranger = SessionSigner.from_settings(Settings(APP_API_TOKEN=SecretStr("u" * 32)))
    value, _ = one.mint(teacher())
    assert other.read(value) is not None
    assert stranger.read(value) is None


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("/console/classes/c1?sort=mastery", "/console/classes/c1?sort=mastery"),
        ("https://evil.example/console/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/struggles", "/console/"),
        (None, "/console/"),
    ],
)
def test_after_sign_in_only_console_paths(asked: str | None, goes_to: str) -> None:
    assert safe_next(asked) == goes_to
