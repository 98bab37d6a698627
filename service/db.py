"""Connections to PostgreSQL: the SQLAlchemy async engine (asyncpg driver) for the alert
table, the rosters, rule sets and dry runs; plain asyncpg pools for the teachers' views
and for the writes every event makes (the event log and the read model)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service.settings import Settings

log = structlog.get_logger("db")
T = TypeVar("T")


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
    """The pools' reset on release: their connections run statements in autocommit or in
    a transaction they end, and never set session state, so there is none to reset
    (asyncpg's default reset costs a round trip per use). A transaction left open is
    rolled back all the same."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_read_pool(settings: Settings, size: int = 10) -> asyncpg.Pool:
    """The views' connections: plain asyncpg, no ORM layer, no pre-ping (a connection the
    server closed fails once, and :func:`idempotent` reads again on another). Per request
    this costs one round trip per statement, where the service's SQLAlchemy engine adds
    five (its pre-ping inside BEGIN/ROLLBACK, and BEGIN/ROLLBACK around the use):
    docs/performance.md, "Teachers' views". No connection is made before the first view
    is asked for, so the app starts while the database is away, as with the engine."""
    return await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url), min_size=0, max_size=size, reset=_keep_session
    )


async def create_write_pool(settings: Settings, size: int = 10) -> asyncpg.Pool:
    """The connections of the writes each event makes: the event log's insert and the
    read model's upserts (both coalesced across concurrent turns). Through the engine
    each write cost a pre-ping and BEGIN/COMMIT round trips and SQLAlchemy's pool and
    greenlet layers: ``python -m bench.profile 100`` put SQLAlchemy and asyncpg at a
    quarter of the app's CPU at 100 events/s (docs/performance.md, "The service against
    its floor"). Without a pre-ping a connection the server closed fails on its next use:
    :func:`idempotent` retries on a fresh one. No connection is made before the first
    write, so the app starts while the database is away."""
    return await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url), min_size=0, max_size=size, reset=_keep_session
    )


# What a pooled connection raises when the server closed it (a restart, a failover, an
# idle timeout) or when the server is still starting. A backend terminated while its
# connection sat in the pool leaves an unsolicited error on it, and the next statement
# fails with InternalClientError ("another operation is in progress"): seen in
# tests/integration/test_read_model.py.
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.InterfaceError,  # "connection is closed"
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError among others
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    OSError,
)


def _discard(conn: asyncpg.Connection) -> None:
    """Close a lost connection so that the pool opens another instead of handing it out
    again. When asyncpg saw the close itself (ConnectionDoesNotExistError) it has already
    detached the connection from the pool's proxy, and the proxy refuses the call with
    InterfaceError: nothing is left to close then."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()


async def idempotent(pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """``work`` on a pooled connection, and once more on another if that connection was
    lost: the pool has no pre-ping, so after a database restart each pooled connection
    fails once. The lost connection is closed, so the pool opens a new one instead of
    handing it out again. Only for work that may run twice (an insert that ignores
    conflicts, an upsert guarded by versions). A second failure is raised: the caller's
    outbox or delivery is retried as before."""
    for attempt in (1, 2):
        conn = await pool.acquire()
        try:
            return await work(conn)
        except CONNECTION_LOST as exc:
            _discard(conn)
            if attempt == 2:
                raise
            log.info("database_connection_lost_retrying", error=type(exc).__name__)
        finally:
            await pool.release(conn)
    raise AssertionError("unreachable: the second attempt returns or raises")
