"""Statement producers: the learning tools allowed to send xAPI statements, each with
its own HTTP Basic credential (what Moodle's logstore and Ralph's forwarding send to an
LRS). A credential reaches the statements resource and nothing else.

The secret is made here (32 random bytes, URL-safe) and shown once; only its SHA-256
is stored. A fast digest is enough for a secret of that strength (a password hash's
slowness guards guessable, human-chosen passwords; these are never human-chosen).
Rotation makes a new secret and may keep the previous one valid for a grace period, so
a tool can be re-configured without lost statements; revocation ends both at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from service.db import idempotent
from service.errors import Conflict, NotFound, Unauthenticated

BASIC_REALM = 'Basic realm="xAPI statements", charset="UTF-8"'


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Producer:
    producer_id: str
    name: str
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    previous_valid_until: datetime | None

    def public(self) -> dict[str, Any]:
        return {
            "producer_id": self.producer_id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "rotated_at": self.rotated_at.isoformat() if self.rotated_at else None,
            "previous_secret_valid_until": (
                self.previous_valid_until.isoformat() if self.previous_valid_until else None
            ),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


_COLUMNS = "producer_id, name, created_at, rotated_at, revoked_at, previous_valid_until"


def _producer(row: asyncpg.Record) -> Producer:
    return Producer(*(row[c.strip()] for c in _COLUMNS.split(",")))


class Producers:
    """The ``statement_producers`` table (migration 0017)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, producer_id: str, name: str) -> tuple[Producer, str]:
        secret = new_secret()

        async def insert(conn: asyncpg.Connection) -> asyncpg.Record | None:
            return await conn.fetchrow(
                "INSERT INTO statement_producers (producer_id, name, secret_sha256) "
                f"VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
                producer_id,
                name,
                digest(secret),
            )

        row = await idempotent(self._pool, insert)
        if row is None:
            raise Conflict(f"statement producer {producer_id!r} exists (rotate its secret)")
        return _producer(row), secret

    async def rotate(self, producer_id: str, previous_valid_for: timedelta) -> tuple[Producer, str]:
        secret = new_secret()
        until = datetime.now(UTC) + previous_valid_for if previous_valid_for else None

        async def update(conn: asyncpg.Connection) -> asyncpg.Record | None:
            return await conn.fetchrow(
                "UPDATE statement_producers SET previous_secret_sha256 = secret_sha256, "
                "previous_valid_until = $3, secret_sha256 = $2, rotated_at = now() "
                f"WHERE producer_id = $1 AND revoked_at IS NULL RETURNING {_COLUMNS}",
                producer_id,
                digest(secret),
                until,
            )

        row = await idempotent(self._pool, update)
        if row is None:
            raise NotFound(f"no active statement producer {producer_id!r}")
        return _producer(row), secret

    async def revoke(self, producer_id: str) -> None:
        async def update(conn: asyncpg.Connection) -> str:
            status: str = await conn.execute(
                "UPDATE statement_producers SET revoked_at = coalesce(revoked_at, now()) "
                "WHERE producer_id = $1",
                producer_id,
            )
            return status

        if await idempotent(self._pool, update) == "UPDATE 0":
            raise NotFound(f"no statement producer {producer_id!r}")

    async def list(self) -> list[Producer]:
        async def select(conn: asyncpg.Connection) -> list[asyncpg.Record]:
            rows: list[asyncpg.Record] = await conn.fetch(
                f"SELECT {_COLUMNS} FROM statement_producers ORDER BY producer_id"
            )
            return rows

        return [_producer(r) for r in await idempotent(self._pool, select)]

    async def authenticate(self, user: str, password: str) -> str:
        """The producer id a Basic credential belongs to; Unauthenticated otherwise (one
        message for every failure: a caller learns nothing about which ids exist)."""

        async def select(conn: asyncpg.Connection) -> asyncpg.Record | None:
            return await conn.fetchrow(
                "SELECT secret_sha256, previous_secret_sha256, previous_valid_until, "
                "revoked_at FROM statement_producers WHERE producer_id = $1",
                user,
            )

        row = await idempotent(self._pool, select) if user else None
        presented = digest(password)
        if row is not None and row["revoked_at"] is None:
            if hmac.compare_digest(presented, row["secret_sha256"]):
                return user
            previous, until = row["previous_secret_sha256"], row["previous_valid_until"]
            if previous and until and until > datetime.now(UTC):
                if hmac.compare_digest(presented, previous):
                    return user
        raise Unauthenticated("unknown, revoked or wrong statement producer credentials")
