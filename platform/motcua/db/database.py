"""The application's connection pool and its one door to tenant data.

Two roles: the *owner* (runs migrations and ``tenants apply``) and the *application role*
(everything else), which owns nothing and is neither superuser nor BYPASSRLS, so row-level
security binds it. ``tenant(slug)`` opens a transaction and binds the tenant with the SQL
function ``motcua_bind`` (``set_config('motcua.tenant_id', ..., true)``, refusing to rebind a
transaction bound to another tenant): the setting dies with the transaction, so a pooled
connection never carries a tenant over.

Round trips are the cost of a short transaction (a lookup, a webhook): BEGIN and the tenant go
in one simple query, COMMIT is the other, and a connection goes back to the pool without
asyncpg's reset query, since these transactions leave no session state behind (nothing here
uses LISTEN, session advisory locks, cursors outside a transaction or a session-level SET).
A savepoint inside one is ``savepoint(conn)``, not ``conn.transaction()``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

TenantConnection = asyncpg.Connection

# A tenant's id is its slug: lowercase letters and digits in hyphen-joined words. It goes into
# the BEGIN query as a literal (a simple query takes no parameters), so nothing else may.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


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
    await conn.execute("SELECT motcua_bind($1)", tenant_id)


async def _release(conn: asyncpg.Connection) -> None:
    """The pool's reset: only an unfinished transaction (a cancelled request) needs undoing."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


@asynccontextmanager
async def savepoint(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A nested transaction: on an exception its changes are undone and the outer one goes on."""
    await conn.execute("SAVEPOINT motcua_savepoint")
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # if this fails, so does the outer transaction
            await conn.execute("ROLLBACK TO SAVEPOINT motcua_savepoint; RELEASE SAVEPOINT motcua_savepoint")
        raise
    await conn.execute("RELEASE SAVEPOINT motcua_savepoint")


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
            command_timeout=60, max_inactive_connection_lifetime=300, reset=_release,
        )
        return cls(pool, url)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def tenant(self, tenant_id: str, *, wake_workers: bool = True) -> AsyncIterator[asyncpg.Connection]:
        """A transaction that sees and writes only ``tenant_id``'s rows. Commits on success.
        ``wake_workers=False``: jobs enqueued here do not notify idle workers (a worker's own
        transactions: it claims again when its job ends)."""
        if not tenant_id or not SLUG.fullmatch(tenant_id):
            raise ValueError(f"a tenant slug is required, not {tenant_id!r}")
        begin = f"BEGIN; SELECT motcua_bind('{tenant_id}')"
        if not wake_workers:
            begin += "; SET LOCAL motcua.wake_workers = off"
        async with self._transaction(begin) as conn:
            yield conn

    @asynccontextmanager
    async def system(self, *, durable: bool = True) -> AsyncIterator[asyncpg.Connection]:
        """A transaction bound to no tenant: it sees platform tables only (tenants), nothing
        tenant-owned. ``durable=False`` commits without waiting for the disk: only for what may
        be lost in a crash and simply be done again (a claim of jobs)."""
        async with self._transaction("BEGIN" if durable else "BEGIN; SET LOCAL synchronous_commit = off") as conn:
            yield conn

    @asynccontextmanager
    async def _transaction(self, begin: str) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn:
            await conn.execute(begin)
            try:
                yield conn
            except BaseException:
                with contextlib.suppress(Exception):  # a broken connection: the pool discards it
                    await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def call(self, function: str, tenant_id: str, *args: Any) -> Any:
        """``SELECT function(tenant_id, *args)`` as a transaction of its own, in one round trip
        where ``tenant()`` takes three: for the hottest writes, done by a SQL function that binds
        the tenant itself with ``motcua_bind`` (migration 0009). Commits durably."""
        if not SLUG.fullmatch(tenant_id) or not re.fullmatch(r"motcua_[a-z_]+", function):
            raise ValueError(f"not a tenant and a motcua_ function: {tenant_id!r}, {function!r}")
        params = ", ".join(f"${i}" for i in range(1, len(args) + 2))
        return await self.pool.fetchval(f"SELECT {function}({params})", tenant_id, *args)

    async def ping(self) -> bool:
        async with self.pool.acquire(timeout=2) as conn:
            return await conn.fetchval("SELECT 1", timeout=2) == 1

    async def fetch_tenant(self, slug: str) -> dict[str, Any] | None:
        async with self.system() as conn:
            row = await conn.fetchrow("SELECT * FROM tenant WHERE id = $1", slug)
        return dict(row) if row else None
