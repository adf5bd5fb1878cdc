"""Looking a dossier up: live from the province's system when it answers, else from our copy.

``lookup(runtime, tenant, code)`` asks the system (when its adapter declares ``lookup_by_code``)
with a short deadline, stores what it says (a lookup is also a sync: a changed status becomes a
timeline event and notifies subscribers), and answers. When the system is down or slow it
answers from the last synced state and says how old that is (``stale`` and ``as_of``).

Merged provinces (1 July 2025): a dossier code carries its receiving agency's H-code. A tenant
lists its current H-code and its former provinces' in ``tenant.code_prefixes``, so a pre-merger
code (…H06… for the former Bạc Liêu) resolves to Cà Mau; when that former province still runs
its historic system (``[[former]] adapter = "..."``), its codes are looked up there.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import msgspec

from motcua.domain.dossiers.store import (
    StoredDossier,
    TimelineEvent,
    dossiers_by_keys,
    get_dossier,
    id_key,
    phone_key,
    timeline,
    upsert_dossiers,
)
from motcua.onestop.codes import agency_province_code, normalize_code
from motcua.onestop.contract import AdapterError, Capability, NotSupported
from motcua.onestop.records import Timing
from motcua.sync.calls import LOOKUP_TIMEOUT, call

log = logging.getLogger(__name__)


class LookupResult(msgspec.Struct, kw_only=True):
    """A dossier and how fresh our knowledge of it is."""

    tenant: str
    dossier: StoredDossier
    events: list[TimelineEvent]  # the latest, oldest first
    source: str  # "live": the system just answered; "cache": our last synced copy
    as_of: datetime  # the moment the state shown was known to be true
    stale: bool  # we asked the system and it could not answer: the state may have moved since
    error: str | None = None  # why the system could not answer (for logs and admins, not citizens)

    @property
    def age_seconds(self) -> float:
        return max(0.0, (datetime.now(UTC) - self.as_of).total_seconds())

    @property
    def timing(self) -> Timing | None:
        return self.dossier.timing()


class CodeRoute(msgspec.Struct, kw_only=True, frozen=True):
    """Where a dossier code belongs: the tenant, and which of its systems holds the code."""

    tenant: str
    adapter_name: str = ""  # "" = the tenant's current system; else an entry of its [adapters]
    former: str | None = None  # the merged province's name when the code is a pre-merger one


async def resolve_tenant_for_code(runtime, code: str) -> CodeRoute | None:
    """The tenant whose current or former H-code the code carries, or None."""
    hcode = agency_province_code(code)
    if hcode is None:
        return None
    async with runtime.db.system() as conn:
        slug = await conn.fetchval(
            "SELECT id FROM tenant WHERE active AND $1 = ANY(code_prefixes) ORDER BY agency_code = $1 DESC, id LIMIT 1",
            hcode)
    if slug is None:
        return None
    return await route_in_tenant(runtime, slug, code)


async def route_in_tenant(runtime, tenant: str, code: str) -> CodeRoute:
    """Which of a tenant's systems holds ``code``: a former province's historic one, if it names one."""
    t = await runtime.tenant(tenant)
    hcode = agency_province_code(code)
    if t is None or hcode is None or hcode == t.file.agency_code:
        return CodeRoute(tenant=tenant)
    for former in t.file.former:
        if former.agency_code == hcode:
            return CodeRoute(tenant=tenant, adapter_name=former.adapter or "", former=former.name)
    return CodeRoute(tenant=tenant)


async def _as_of(conn, dossier: StoredDossier) -> datetime:
    """Our copy was true when it was last written, or when a later complete poll saw no change to it."""
    polled = await conn.fetchval("SELECT last_success_at FROM sync_state WHERE source = 'primary'")
    return max(dossier.synced_at, polled) if polled else dossier.synced_at


async def lookup(runtime, tenant: str, code: str, *, events: int = 10) -> LookupResult | None:
    """A dossier by code (any spacing, case or separators; its other codes too), or None when
    neither the system nor our copy knows it."""
    key = normalize_code(code)
    if not key:
        return None
    route = await route_in_tenant(runtime, tenant, code)
    error: str | None = None
    asked = False
    adapter = None
    try:
        adapter = await runtime.adapter(tenant, route.adapter_name)
    except (LookupError, KeyError, AdapterError) as exc:  # misconfigured: still answer from our copy
        log.warning("no adapter for %s/%s: %s", tenant, route.adapter_name or "primary", exc)
        error = f"{exc.__class__.__name__}: {exc}"
    if adapter is not None and Capability.lookup_by_code in adapter.capabilities:
        asked = True
        try:
            live = await call(tenant, adapter, "lookup", adapter.lookup(code), timeout=LOOKUP_TIMEOUT)
        except NotSupported:
            asked = False
        except AdapterError as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            log.info("live lookup for %s failed, answering from our copy: %s", tenant, error)
        else:
            async with runtime.db.tenant(tenant) as conn:
                if live is not None:
                    await upsert_dossiers(conn, runtime.crypto, tenant, [live])
                    stored = await get_dossier(conn, live.code) or await get_dossier(conn, code)
                else:
                    stored = await get_dossier(conn, code)
                if stored is None:
                    return None
                return LookupResult(
                    tenant=tenant, dossier=stored, events=await timeline(conn, stored.id, limit=events),
                    source="live" if live is not None else "cache",
                    as_of=datetime.now(UTC) if live is not None else await _as_of(conn, stored), stale=False)
    async with runtime.db.tenant(tenant) as conn:
        stored = await get_dossier(conn, code)
        if stored is None:
            return None
        return LookupResult(tenant=tenant, dossier=stored, events=await timeline(conn, stored.id, limit=events),
                            source="cache", as_of=await _as_of(conn, stored), stale=asked and error is not None,
                            error=error)


async def lookup_code_anywhere(runtime, code: str, **kwargs) -> LookupResult | None:
    """A lookup when the tenant is not known (a QR code scanned anywhere): routed by the code's H-code."""
    route = await resolve_tenant_for_code(runtime, code)
    return await lookup(runtime, route.tenant, code, **kwargs) if route else None


class OwnerLookup(msgspec.Struct, kw_only=True):
    dossiers: list[StoredDossier]
    source: str  # live or cache
    stale: bool
    error: str | None = None


async def lookup_by_owner(runtime, tenant: str, *, phone: str | None = None, id_number: str | None = None,
                          limit: int = 20) -> OwnerLookup:
    """A citizen's dossiers ("hồ sơ của tôi") by their phone or ID number: asked live when the
    system can, stored, then read from our copy by the keyed hashes (never by the plain number)."""
    keys = [k for k in (phone_key(runtime.crypto, tenant, phone),) if k]
    ids = [k for k in (id_key(runtime.crypto, tenant, id_number),) if k]
    if not keys and not ids:
        return OwnerLookup(dossiers=[], source="cache", stale=False)
    error: str | None = None
    source = "cache"
    try:
        adapter = await runtime.adapter(tenant)
    except (LookupError, KeyError, AdapterError) as exc:
        adapter, error = None, f"{exc.__class__.__name__}: {exc}"
    if adapter is not None and Capability.lookup_by_owner in adapter.capabilities:
        try:
            found = await call(tenant, adapter, "lookup_by_owner",
                               adapter.lookup_by_owner(phone=phone, id_number=id_number), timeout=LOOKUP_TIMEOUT)
        except AdapterError as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        else:
            source = "live"
            if found:
                # The system found them by this owner even if it left the numbers out of the records;
                # keep them (hashed) so our copy finds them again when the system is down.
                found = [msgspec.structs.replace(d, applicant_phone=d.applicant_phone or phone,
                                                 applicant_id_number=d.applicant_id_number or id_number)
                         for d in found]
                async with runtime.db.tenant(tenant) as conn:
                    await upsert_dossiers(conn, runtime.crypto, tenant, found)
    async with runtime.db.tenant(tenant) as conn:
        dossiers = await dossiers_by_keys(conn, applicant_keys=keys, id_keys=ids, limit=limit)
    return OwnerLookup(dossiers=dossiers, source=source, stale=error is not None and source == "cache", error=error)
