"""The running platform's shared parts, built once per process by ``Runtime.start(settings)``.

It starts the embedded PostgreSQL when no database URL is set, migrates when asked, opens the
application role's pool, and holds the plug-ins, the crypto and the tenants' adapters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from motcua import tracing
from motcua.crypto import Crypto, get_secrets, load_master_key
from motcua.db.database import Database, with_database, with_user
from motcua.db.embedded import EmbeddedPostgres
from motcua.db.migrate import ensure_database, migrate
from motcua.onestop.contract import Adapter
from motcua.plugins import Plugins
from motcua.settings import Settings
from motcua.tenancy.schema import Tenant, TenantFile

log = logging.getLogger(__name__)

TENANT_CACHE_SECONDS = 5.0  # a newly applied province is served within this, no restart


@dataclass
class Runtime:
    settings: Settings
    db: Database
    owner_url: str | None  # None when only the application role is configured (production pods)
    crypto: Crypto
    plugins: Plugins
    http: httpx.AsyncClient
    embedded: EmbeddedPostgres | None = None
    _tenants: dict[str, tuple[float, Tenant | None, str | None]] = field(default_factory=dict)
    _adapters: dict[tuple[str, str], tuple[str, Adapter]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # per-process parts other modules attach

    @classmethod
    async def start(cls, settings: Settings, *, plugins: Plugins | None = None, migrate_db: bool | None = None) -> Runtime:
        embedded = None
        owner_url = settings.database_url
        # With neither URL set, the embedded server. Production web and worker pods may be given
        # only the application role's URL: the owner's is for migrations and `tenants apply`.
        if owner_url is None and settings.app_database_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            embedded = EmbeddedPostgres(settings.data_dir)
            server_url = await asyncio.to_thread(embedded.start)
            await ensure_database(server_url, "motcua")
            owner_url = with_database(server_url, "motcua")
        try:
            if migrate_db if migrate_db is not None else (settings.migrate_on_start or settings.demo):
                if owner_url is None:
                    raise RuntimeError("migrating needs MOTCUA_DATABASE_URL (the owner role)")
                await migrate(owner_url, settings.app_role, password=settings.app_password)
            app_url = settings.app_database_url or with_user(owner_url, settings.app_role, settings.app_password)
            db = await Database.open(app_url, max_size=settings.pool_size)
        except BaseException:
            if embedded:
                embedded.stop()
            raise
        crypto = Crypto(load_master_key(settings.master_key, settings.data_dir, demo=settings.demo))
        tracing.configure()  # on only when MOTCUA_TRACING or OTEL_EXPORTER_OTLP_ENDPOINT says so
        # Outbound calls (Zalo above all) get a client span and carry the trace on when tracing is on.
        http = tracing.http_client(timeout=httpx.Timeout(10.0, connect=5.0))
        return cls(settings=settings, db=db, owner_url=owner_url, crypto=crypto, plugins=plugins or Plugins(),
                   http=http, embedded=embedded)

    async def close(self) -> None:
        for part in list(self.state.values()):  # attached parts with background tasks (the simulator)
            if hasattr(part, "aclose"):
                try:
                    await part.aclose()
                except Exception:  # noqa: BLE001 - one part must not keep the database running
                    log.exception("closing %s failed", type(part).__name__)
        for _, adapter in self._adapters.values():
            await adapter.aclose()
        await self.http.aclose()
        await self.db.close()
        if self.embedded:
            await asyncio.to_thread(self.embedded.stop)

    async def tenant(self, slug: str) -> Tenant | None:
        """The tenant's current configuration, from the database (what ``tenants apply`` wrote)."""
        hit = self._tenants.get(slug)
        if hit and time.monotonic() - hit[0] < TENANT_CACHE_SECONDS:
            return hit[1]
        row = await self.db.fetch_tenant(slug)
        tenant = None
        if row and row["active"]:
            tenant = Tenant(slug=slug, file=msgspec.convert(row["config"], type=TenantFile))
        self._tenants[slug] = (time.monotonic(), tenant, row["config_hash"] if row else None)
        return tenant

    async def tenant_slugs(self) -> list[str]:
        async with self.db.system() as conn:
            return [r["id"] for r in await conn.fetch("SELECT id FROM tenant WHERE active ORDER BY id")]

    async def adapter(self, slug: str, name: str = "") -> Adapter:
        """The tenant's adapter (``name`` picks one of its historic ``[adapters]``), rebuilt when
        its configuration changes."""
        tenant = await self.tenant(slug)
        if tenant is None:
            raise LookupError(f"unknown tenant {slug!r}")
        cfg = tenant.file.adapters[name] if name else tenant.file.adapter
        digest = self._tenants[slug][2] or ""
        cached = self._adapters.get((slug, name))
        if cached and cached[0] == digest:
            return cached[1]
        prefix = f"adapters.{name}." if name else "adapter."
        async with self.db.tenant(slug) as conn:
            secrets = await get_secrets(conn, self.crypto, slug, prefix)
        adapter = self.plugins.adapters.create(cfg.family, cfg.settings, secrets=secrets, status_map=cfg.status_map)
        if cached:
            await cached[1].aclose()
        self._adapters[(slug, name)] = (digest, adapter)
        return adapter
