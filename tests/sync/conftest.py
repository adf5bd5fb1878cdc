"""Fixtures for the sync tests: a runtime whose plug-in manager also holds a small in-memory
one-stop family (``memory``, and ``memory-push`` which signs pushes like the push family), a
subscriber that records the timeline events it is handed, and helpers to apply tenants.

The in-memory family is for engine-level tests (paging, crashes, replays, outages) where a
real sandbox would only add noise; the end-to-end tests use the real families and sandboxes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import msgspec
import pytest

from motcua.db.database import connect, with_database, with_user
from motcua.db.migrate import ensure_database, migrate
from motcua.onestop.contract import Adapter, Capability, Malformed, Rejected, Unavailable
from motcua.onestop.records import (
    Agency,
    ChangePage,
    Dossier,
    Procedure,
    PushedChange,
    Quarantined,
    RawStatus,
    Status,
)
from motcua.plugins import Plugins, get_plugin_manager, hookimpl
from motcua.runtime import Runtime
from motcua.tenancy.apply import apply_tenant
from motcua.tenancy.schema import AdapterConfig, FormerProvince, Tenant, TenantFile
from motcua.testing.database import TestDatabase

T0 = datetime(2025, 11, 19, 8, 0, tzinfo=UTC)


class MemorySystem:
    """A one-stop system in memory: a change log paged by an integer cursor, switchable faults."""

    def __init__(self) -> None:
        self.dossiers: dict[str, Dossier] = {}
        self.log: list[Dossier | Quarantined] = []
        self.page_size = 3
        self.down = False  # every call raises Unavailable
        self.fail_at_page: int | None = None  # the n-th changes() call (1-based) raises Unavailable
        self.latency = 0.0
        self.calls: list[tuple[str, object]] = []
        self.procedures: list[Procedure] = []

    def put(self, d: Dossier) -> Dossier:
        self.dossiers[d.code] = d
        self.log.append(d)
        return d

    def change(self, code: str, **fields) -> Dossier:
        d = msgspec.structs.replace(self.dossiers[code], **fields)
        return self.put(d)

    async def _io(self, name: str, arg: object) -> None:
        self.calls.append((name, arg))
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.down:
            raise Unavailable("503 Service Unavailable")


SYSTEMS: dict[str, MemorySystem] = {}


class MemorySettings(msgspec.Struct, kw_only=True):
    system: str
    hmac_secret: str = ""


class MemoryAdapter(Adapter):
    family: ClassVar[str] = "memory"
    Settings = MemorySettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.lookup_by_code, Capability.lookup_by_owner, Capability.change_feed, Capability.procedures})

    @property
    def system(self) -> MemorySystem:
        return SYSTEMS[self.settings.system]

    async def lookup(self, code: str) -> Dossier | None:
        await self.system._io("lookup", code)
        from motcua.onestop.codes import normalize_code

        return next((d for d in self.system.dossiers.values() if normalize_code(d.code) == normalize_code(code)), None)

    async def lookup_by_owner(self, *, phone=None, id_number=None) -> list[Dossier]:
        await self.system._io("lookup_by_owner", phone or id_number)
        from motcua.crypto import normalize_phone

        return [d for d in self.system.dossiers.values()
                if (phone and normalize_phone(d.applicant_phone or "") == normalize_phone(phone))
                or (id_number and d.applicant_id_number == id_number)]

    async def changes(self, cursor: str | None, *, since: datetime | None = None) -> ChangePage:
        sys_ = self.system
        await sys_._io("changes", cursor)
        if sys_.fail_at_page is not None and sum(1 for c in sys_.calls if c[0] == "changes") == sys_.fail_at_page:
            raise Unavailable("503 Service Unavailable")
        start = int(cursor or 0)
        chunk = sys_.log[start:start + sys_.page_size]
        end = start + len(chunk)
        return ChangePage(dossiers=[d for d in chunk if isinstance(d, Dossier)], cursor=str(end),
                          has_more=end < len(sys_.log), quarantined=[q for q in chunk if isinstance(q, Quarantined)])

    async def procedures(self) -> list[Procedure]:
        await self.system._io("procedures", None)
        return list(self.system.procedures)


class MemoryPushAdapter(MemoryAdapter):
    """Pushes signed like the push family: ``sha256=HMAC(secret, f"{timestamp}.{body}")``."""

    family: ClassVar[str] = "memory-push"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.lookup_by_code, Capability.change_feed, Capability.push_events})

    async def parse_push(self, body: bytes, headers: Mapping[str, str]) -> list[PushedChange]:
        ts = headers.get("x-motcua-timestamp", "")
        sig = headers.get("x-motcua-signature", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            raise Rejected("dấu thời gian thiếu hoặc quá 5 phút")
        want = "sha256=" + hmac.new(self.settings.hmac_secret.encode(), ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            raise Rejected("chữ ký không đúng")
        try:
            return msgspec.json.decode(body, type=list[PushedChange])
        except msgspec.DecodeError as exc:
            raise Malformed(str(exc)) from exc


def sign(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), str(ts).encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Motcua-Timestamp": str(ts), "X-Motcua-Signature": f"sha256={mac}", "Content-Type": "application/json"}


class Recorder:
    """A subscriber (``motcua_register_subscribers``) that keeps what it is handed."""

    def __init__(self) -> None:
        self.events: list = []

    async def __call__(self, event, context) -> None:
        self.events.append((context.tenant_id, event))

    def kinds(self, tenant: str) -> list[tuple[str, str, str | None]]:
        return [(e.dossier.code, e.kind, e.status) for t, e in self.events if t == tenant]


RECORDER = Recorder()


class MemoryPlugin:
    @staticmethod
    @hookimpl
    def motcua_register_adapters(registry) -> None:
        registry.register(MemoryAdapter)
        registry.register(MemoryPushAdapter)

    @staticmethod
    @hookimpl
    def motcua_register_subscribers(registry) -> None:
        registry.subscribe(RECORDER)


def dossier(code: str, status: Status = Status.received, raw: str = "2", *, at: datetime = T0,
            raw_label: str | None = None, **kw) -> Dossier:
    defaults = dict(procedure_code="1.001193", procedure_name="Đăng ký khai sinh",
                    agency=Agency(code=code.split("-")[0], name="UBND Phường An Xuyên"),
                    applicant_name="Nguyễn Văn An", received_at=at, due_at=at + timedelta(days=3), updated_at=at)
    defaults.update(kw)
    return Dossier(code=code, status=status, raw_status=RawStatus(code=raw, label=raw_label), **defaults)


@pytest.fixture(scope="session")
def sync_plugins() -> Plugins:
    return Plugins(pm=get_plugin_manager(extra=(MemoryPlugin,)))


@pytest.fixture(scope="session")
async def sync_database(database):
    """A database of its own on the same server: these tests run workers, and a worker claims every
    tenant's jobs; here it meets only tenants of the in-memory family, and others never meet them."""
    name = f"motcua_sync_{secrets.token_hex(4)}"
    await ensure_database(database.server_url, name)
    owner = with_database(database.server_url, name)
    await migrate(owner, "motcua_app")
    db = TestDatabase(database.server_url, owner, with_user(owner, "motcua_app"), name, None, None)
    yield db
    await db.drop()


@pytest.fixture(scope="session")
async def sync_runtime(settings, sync_plugins, sync_database):
    rt = await Runtime.start(settings.replace(database_url=sync_database.owner_url,
                                              app_database_url=sync_database.app_url),
                             plugins=sync_plugins, migrate_db=False)
    yield rt
    await rt.close()


@pytest.fixture(scope="session")
async def apply(sync_database, crypto, sync_runtime):
    """Apply a tenant as ``motcua tenants apply`` does; returns its slug."""

    async def _apply(slug: str, hcode: str, *, family: str = "memory", system: str | None = None,
                     former: list[FormerProvince] = (), adapters: dict[str, AdapterConfig] | None = None,
                     secret: str = "") -> str:
        name = system or slug
        SYSTEMS.setdefault(name, MemorySystem())
        settings = {"system": name, **({"hmac_secret": secret} if secret else {})}
        t = Tenant(slug=slug, file=TenantFile(name=f"Tỉnh {slug}", stat_code="96", agency_code=hcode,
                                              former=list(former), adapters=adapters or {},
                                              adapter=AdapterConfig(family=family, settings=settings)))
        conn = await connect(sync_database.owner_url)
        try:
            await apply_tenant(conn, crypto, t, environ={})
        finally:
            await conn.close()
        return slug

    return _apply


async def snapshot(runtime: Runtime, tenant: str) -> dict[str, list]:
    """Everything the sync writes for a tenant, to compare before and after."""
    out = {}
    async with runtime.db.tenant(tenant) as conn:
        for table, order in (("dossier", "id"), ("dossier_event", "id"), ("dossier_alias", "code_key"),
                             ("job", "id"), ("quarantine", "id"), ("sync_state", "source")):
            out[table] = [json.dumps(dict(r), default=str, sort_keys=True)
                          for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY {order}")]
    return out
