"""Mint a development JWT signed with the local HS256 secret (``make token``).

python -m service.dev_token --role teacher --sub teacher-1 [--ttl 3600]
"""

import argparse
import sys
import time
from typing import Any

import jwt

from service.settings import get_settings


def dev_claims(role: str, subject: str, ttl_s: int = 3600) -> dict[str, Any]:
    """The claims of a valid token for this environment's issuer and audience."""
    settings = get_settings()
    now = int(time.time())
    return {
        "sub": subject,
        settings.jwt_role_claim: role,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
    }


def mint(role: str, subject: str, ttl_s: int = 3600) -> str:
    secret = get_settings().jwt_secret.get_secret_value()
    return jwt.encode(dev_claims(role, subject, ttl_s), secret, algorithm="HS256")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", choices=["teacher", "admin", "student"], default="teacher")
    parser.add_argument("--sub", default=None, help="subject (default: <role>-dev)")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until expiry")
    args = parser.parse_args()
    if get_settings().environment != "development":
        sys.exit("dev_token only mints tokens for the development environment")
    sys.stdout.write(mint(args.role, args.sub or f"{args.role}-dev", args.ttl) + "\n")


if __name__ == "__main__":
    main()
