"""Schema migrations with Alembic, run as the owner role.

``migrate(owner_url, app_role)`` creates the application role if it is missing (never a
superuser, never BYPASSRLS), then upgrades to head under an advisory lock so that several
processes starting at once migrate once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from motcua.db.database import connect, plain_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(owner_url: str, app_role: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", "postgresql+asyncpg://" + plain_url(owner_url).split("://", 1)[1])
    cfg.attributes["app_role"] = app_role
    return cfg


async def ensure_role(owner_url: str, app_role: str, password: str | None = None) -> None:
    conn = await connect(owner_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", app_role)
        ident = '"' + app_role.replace('"', '""') + '"'
        if not exists:
            await conn.execute(f"CREATE ROLE {ident} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT")
        if password:
            await conn.execute(f"ALTER ROLE {ident} PASSWORD " + "'" + password.replace("'", "''") + "'")
        flags = await conn.fetchrow("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", app_role)
        if flags["rolsuper"] or flags["rolbypassrls"]:
            raise RuntimeError(f"role {app_role} bypasses row-level security; use a plain role")
    finally:
        await conn.close()


async def ensure_database(server_url: str, database: str) -> None:
    conn = await connect(server_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def _upgrade(owner_url: str, app_role: str, revision: str) -> None:
    command.upgrade(alembic_config(owner_url, app_role), revision)


async def migrate(owner_url: str, app_role: str = "motcua_app", *, password: str | None = None,
                  revision: str = "heads") -> None:
    await ensure_role(owner_url, app_role, password)
    # Alembic's env runs its own event loop; keep it off ours.
    await asyncio.to_thread(_upgrade, owner_url, app_role, revision)
