"""The application's connection pool and its one door to tenant data.

Two roles: the *owner* (runs migrations and ``tenants apply``) and the *application role*
(everything else), which owns nothing and is neither superuser nor BYPASSRLS, so row-level
security binds it. ``tenant(slug)`` opens a transaction and sets ``motcua.tenant_id`` with
``set_config(..., true)``: the setting dies with the transaction, so a pooled connection
never carries a tenant over.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

TenantConnection = asyncpg.Connection


def plain_url(url: str) -> str:
    """asyncpg wants ``postgresql://``; accept SQLAlchemy's ``postgresql+asyncpg://`` too."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The same server and database, as another role."""
    parts = urlsplit(plain_url(url))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = quote(user) + (":" + quote(password) if password else "") + "@" + host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def with_database(url: str, database: str) -> str:
    parts = urlsplit(plain_url(url))
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def bind_tenant(conn: asyncpg.Connection, tenant_id: str) -> None:
    """Bind ``tenant_id`` to the connection's current transaction, and only to it."""
    if not tenant_id:
        raise ValueError("a tenant is required")
    await conn.execute("SELECT set_config('motcua.tenant_id', $1, true)", tenant_id)


async def connect(url: str) -> asyncpg.Connection:
    """A single connection with our codecs (tools, tests, the queue listener)."""
    conn = await asyncpg.connect(plain_url(url))
    await _init_connection(conn)
    return conn


class Database:
    """The application role's pool. Build with ``await Database.open(url)``; close with ``close()``."""

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool = pool
        self.url = url

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> Database:
        pool = await asyncpg.create_pool(
            plain_url(url), min_size=min_size, max_size=max_size, init=_init_connection,
            command_timeout=60, max_inactive_connection_lifetime=300,
        )
        return cls(pool, url)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def tenant(self, tenant_id: str) -> AsyncIterator[asyncpg.Connection]:
        """A transaction that sees and writes only ``tenant_id``'s rows. Commits on success."""
        if not tenant_id:
            raise ValueError("a tenant is required")
        async with self.pool.acquire() as conn, conn.transaction():
            await bind_tenant(conn, tenant_id)
            yield conn

    @asynccontextmanager
    async def system(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction bound to no tenant: it sees platform tables only (tenants), nothing tenant-owned."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    async def ping(self) -> bool:
        async with self.pool.acquire(timeout=2) as conn:
            return await conn.fetchval("SELECT 1", timeout=2) == 1

    async def fetch_tenant(self, slug: str) -> dict[str, Any] | None:
        async with self.system() as conn:
            row = await conn.fetchrow("SELECT * FROM tenant WHERE id = $1", slug)
        return dict(row) if row else None
