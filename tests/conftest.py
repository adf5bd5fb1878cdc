"""Session fixtures: one real PostgreSQL database (embedded, or on MOTCUA_DATABASE_URL's server),
migrated by the real migrations, reached as the non-owner application role."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from motcua.crypto import Crypto
from motcua.db.database import Database, connect
from motcua.plugins import Plugins
from motcua.runtime import Runtime
from motcua.settings import Settings
from motcua.testing.database import TestDatabase

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
async def database():
    db = await TestDatabase.create()
    yield db
    await db.drop()


@pytest.fixture(scope="session")
def master_key() -> str:
    return secrets.token_hex(32)


@pytest.fixture(scope="session")
def plugins() -> Plugins:
    return Plugins()


@pytest.fixture(scope="session")
async def runtime(database, master_key, plugins, tmp_path_factory):
    settings = Settings.from_env(
        {}, database_url=database.owner_url, app_database_url=database.app_url, master_key=master_key,
        data_dir=tmp_path_factory.mktemp("data"), tenants_dir=ROOT / "tenants", public_url="http://testserver")
    rt = await Runtime.start(settings, plugins=plugins, migrate_db=False)
    yield rt
    await rt.close()


@pytest.fixture
async def owner_conn(database):
    conn = await connect(database.owner_url)
    yield conn
    await conn.close()


@pytest.fixture(scope="session")
def crypto(master_key) -> Crypto:
    from motcua.crypto import parse_master_key

    return Crypto(parse_master_key(master_key))
