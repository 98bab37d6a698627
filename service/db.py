"""The SQLAlchemy async engine for the alert table (asyncpg driver)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from service.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    # Batched turns insert alerts for many students at once: a pool too small for that
    # opens and closes overflow connections all the time.
    return create_async_engine(
        settings.database_url, pool_size=30, max_overflow=10, pool_pre_ping=True
    )


@asynccontextmanager
async def session_scope(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for work outside an HTTP request: commits on success, rolls back on
    error."""
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
