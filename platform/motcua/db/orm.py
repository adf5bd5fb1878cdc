"""SQLAlchemy sessions for admin CRUD, opened only through ``tenant_session``.

Hot paths use asyncpg directly; back-office forms (FAQ, news) are clearer with the ORM. The
session's transaction binds the tenant first with ``motcua_bind``, exactly like
``Database.tenant``, so row-level security applies and the setting dies with the transaction. The engine is built on first use per runtime, never at import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from motcua.db.database import plain_url


class Base(DeclarativeBase):
    """Declarative base for ORM models of tenant-owned tables (tenant_id first in the key)."""


def _engine(runtime: Any) -> AsyncEngine:
    engine = runtime.state.get("orm.engine")
    if engine is None:
        url = "postgresql+asyncpg://" + plain_url(runtime.db.url).split("://", 1)[1]
        engine = create_async_engine(url, pool_size=2, max_overflow=2, pool_pre_ping=True)
        runtime.state["orm.engine"] = engine
    return engine


@asynccontextmanager
async def tenant_session(runtime: Any, tenant_id: str) -> AsyncIterator[AsyncSession]:
    """An ``AsyncSession`` whose one transaction sees only ``tenant_id``; commits on success."""
    if not tenant_id:
        raise ValueError("a tenant is required")
    async with _engine(runtime).connect() as conn, conn.begin():
        await conn.execute(text("SELECT motcua_bind(:t)"), {"t": tenant_id})
        session = AsyncSession(bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint")
        try:
            yield session
            await session.commit()  # releases the session's savepoint; the outer block commits
        finally:
            await session.close()


async def dispose(runtime: Any) -> None:
    engine = runtime.state.pop("orm.engine", None)
    if engine is not None:
        await engine.dispose()
