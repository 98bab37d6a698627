"""The SQLAlchemy async engines (asyncpg driver): one for the service's writes and the
reads that need a transaction, one for the teachers' read-only views."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    # Batched turns insert alerts for many students at once: a pool too small for that
    # opens and closes overflow connections all the time.
    return create_async_engine(
        settings.database_url, pool_size=30, max_overflow=10, pool_pre_ping=True
    )


def create_read_engine(settings: Settings) -> AsyncEngine:
    """Autocommit connections for single-statement reads that need no transaction.

    A checkout of the main engine costs three round trips for its pre-ping (BEGIN, ``;``,
    ROLLBACK: the asyncpg dialect pings inside a transaction unless the connection is in
    autocommit), and each use two more (BEGIN, ROLLBACK). Here the ping is one ``;`` and
    a statement is one round trip: the class views' whole request costs three or four
    round trips instead of twelve (docs/performance.md, "Teachers' views")."""
    return create_async_engine(
        settings.database_url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        isolation_level="AUTOCOMMIT",
    )
