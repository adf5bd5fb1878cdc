"""A throw-away PostgreSQL database for a test session, migrated by the real migrations.

With ``MOTCUA_DATABASE_URL`` set, a fresh database is created on that server (and dropped at
the end); otherwise an embedded server runs in a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from motcua.db.database import connect, with_database, with_user
from motcua.db.embedded import EmbeddedPostgres
from motcua.db.migrate import ensure_database, migrate


@dataclass
class TestDatabase:
    server_url: str
    owner_url: str
    app_url: str
    name: str
    embedded: EmbeddedPostgres | None
    tmpdir: Path | None

    @classmethod
    async def create(cls, app_role: str = "motcua_app") -> TestDatabase:
        server = os.environ.get("MOTCUA_DATABASE_URL")
        embedded = tmpdir = None
        if not server:
            tmpdir = Path(tempfile.mkdtemp(prefix="motcua-test-"))
            embedded = EmbeddedPostgres(tmpdir)
            server = await asyncio.to_thread(embedded.start)
        name = f"motcua_test_{secrets.token_hex(4)}"
        await ensure_database(server, name)
        owner = with_database(server, name)
        await migrate(owner, app_role)
        return cls(server, owner, with_user(owner, app_role), name, embedded, tmpdir)

    async def drop(self) -> None:
        if self.embedded:
            await asyncio.to_thread(self.embedded.stop)
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            return
        conn = await connect(self.server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()
