"""Token verification with each key source: HS256 secret, RS256 PEM, JWKS file."""

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.auth import TokenVerifier, Unauthorized
from service.dev_token import dev_claims
from service.settings import Settings


def claims(**changes: Any) -> dict[str, Any]:
    return {**dev_claims("teacher", "t1", ttl_s=60), **changes}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_hs256(tmp_path: Path) -> None:
    settings = Settings(jwt_secret="s" * 40)
    verifier = TokenVerifier(settings)
    principal = verifier.verify(jwt.encode(claims(), "s" * 40, algorithm="HS256"))
    assert (principal.subject, principal.role) == ("t1", "teacher")


def test_rs256_public_key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "key.pem").write_bytes(pem)
    verifier = TokenVerifier(Settings(jwt_public_key_file=tmp_path / "key.pem"))
    token = jwt.encode(claims(role="admin"), rsa_key, algorithm="RS256")
    assert verifier.verify(token).role == "admin"
    # an HS256 token "signed" with the public key text must not pass (algorithm confusion)
    with pytest.raises(Unauthorized):
        verifier.verify(jwt.encode(claims(), "x" * 40, algorithm="HS256"))


def test_jwks_file_picks_key_by_kid(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update({"kid": "k1", "alg": "RS256", "use": "sig"})
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    verifier = TokenVerifier(Settings(jwt_jwks_file=tmp_path / "jwks.json"))
    good = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    assert verifier.verify(good).subject == "t1"
    other = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "k2"})
    with pytest.raises(Unauthorized, match="unknown key id"):
        verifier.verify(other)


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValueError, match="development default"):
        Settings(environment="production", APP_API_TOKEN="x")
    with pytest.raises(ValueError, match="APP_API_TOKEN"):
        Settings(environment="production", jwt_secret="s" * 40)
    assert Settings(environment="production", jwt_secret="s" * 40, APP_API_TOKEN="t")
