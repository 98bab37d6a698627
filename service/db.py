"""The SQLAlchemy async engine for the alert table (asyncpg driver)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    # Batched turns insert alerts for many students at once: a pool too small for that
    # opens and closes overflow connections all the time.
    return create_async_engine(
        settings.database_url, pool_size=30, max_overflow=10, pool_pre_ping=True
    )
