"""Connections to PostgreSQL: the SQLAlchemy async engine (asyncpg driver) for the alert
table, the rosters and the projection; a plain asyncpg pool for the teachers' views."""

from __future__ import annotations

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    # Batched turns insert alerts for many students at once: a pool too small for that
    # opens and closes overflow connections all the time.
    return create_async_engine(
        settings.database_url, pool_size=30, max_overflow=10, pool_pre_ping=True
    )


async def driver(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under ``conn`` (inside its transaction, if one began): for
    statements with asyncpg's own parameters and arrays, past SQLAlchemy's layers."""
    raw = await conn.get_raw_connection()
    found: asyncpg.Connection = raw.driver_connection
    return found


def asyncpg_dsn(database_url: str) -> str:
    """The SQLAlchemy URL of the settings as a DSN asyncpg takes."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: these connections only ever run single SELECTs in
    autocommit, so there is no session state to reset (asyncpg's default reset costs a
    round trip per request). A transaction left open is rolled back all the same."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_read_pool(settings: Settings, size: int = 10) -> asyncpg.Pool:
    """The views' connections: plain asyncpg, no ORM layer, no pre-ping (asyncpg notices
    a connection the server closed and the pool replaces it). Per request this costs one
    round trip per statement, where the service's SQLAlchemy engine adds five (its
    pre-ping inside BEGIN/ROLLBACK, and BEGIN/ROLLBACK around the use):
    docs/performance.md, "Teachers' views". No connection is made before the first view
    is asked for, so the app starts while the database is away, as with the engine."""
    return await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url), min_size=0, max_size=size, reset=_keep_session
    )
