"""The procedure catalogue (thủ tục hành chính) upsert: the province's list -> ``procedure`` rows.

``search_key`` is ``motcua_fold(name || ' ' || sector)`` (accents folded, lower case), which the
citizen-services search indexes with trigrams. Papers, the online form and the level go into
``data``. A procedure the province no longer lists is removed, but only when the system gave
a non-empty catalogue: an empty answer is more likely a fault than a province without procedures.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from motcua.onestop.contract import Capability, NotSupported
from motcua.onestop.records import Procedure
from motcua.sync.calls import CATALOGUE_TIMEOUT, call

UPSERT = """
WITH inc AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::numeric[], $8::text[],
                       $9::text[]) AS p(code, name, sector, agency_code, online, processing_days, fee, data)
), up AS (
  INSERT INTO procedure AS t (tenant_id, code, name, search_key, sector, agency_code, online, processing_days, fee,
                              data, updated_at)
  SELECT $1, p.code, p.name, motcua_fold(p.name || ' ' || coalesce(p.sector, '')), p.sector, p.agency_code, p.online,
         p.processing_days, p.fee, p.data::jsonb, now()
  FROM inc p
  ON CONFLICT (tenant_id, code) DO UPDATE SET name = EXCLUDED.name, search_key = EXCLUDED.search_key,
    sector = EXCLUDED.sector, agency_code = EXCLUDED.agency_code, online = EXCLUDED.online,
    processing_days = EXCLUDED.processing_days, fee = EXCLUDED.fee, data = EXCLUDED.data, updated_at = now()
  WHERE (t.name, t.sector, t.agency_code, t.online, t.processing_days, t.fee, t.data)
        IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.sector, EXCLUDED.agency_code, EXCLUDED.online,
                          EXCLUDED.processing_days, EXCLUDED.fee, EXCLUDED.data)
  RETURNING 1
), gone AS (
  DELETE FROM procedure t WHERE t.tenant_id = $1 AND $10 AND NOT EXISTS (SELECT 1 FROM inc p WHERE p.code = t.code)
  RETURNING 1
)
SELECT (SELECT count(*) FROM up) AS changed, (SELECT count(*) FROM gone) AS removed
"""


class CatalogueResult(msgspec.Struct, kw_only=True):
    received: int
    changed: int
    removed: int


def _data(p: Procedure) -> str:
    return msgspec.json.encode({
        "level": p.level, "agency_name": p.agency.name if p.agency else None,
        "papers": msgspec.to_builtins(p.papers), "form": msgspec.to_builtins(p.form),
    }).decode()


async def upsert_procedures(conn: asyncpg.Connection, tenant: str, procedures: Sequence[Procedure], *,
                            complete: bool = True) -> CatalogueResult:
    """Store the catalogue in the caller's tenant transaction. ``complete``: the list is the whole
    catalogue, so procedures missing from it are removed."""
    by_code = {p.code.strip(): p for p in procedures if p.code and p.code.strip() and p.name}
    items = list(by_code.items())
    row = await conn.fetchrow(
        UPSERT, tenant, [c for c, _ in items], [p.name.strip() for _, p in items], [p.sector for _, p in items],
        [p.agency.code if p.agency else None for _, p in items], [p.online for _, p in items],
        [p.processing_days for _, p in items], [p.fee for _, p in items], [_data(p) for _, p in items],
        complete and bool(items))
    return CatalogueResult(received=len(procedures), changed=row["changed"], removed=row["removed"])


async def refresh_procedures(runtime, tenant: str) -> CatalogueResult:
    """Fetch the tenant's catalogue from its system and store it (``procedures.refresh``)."""
    adapter = await runtime.adapter(tenant)
    if Capability.procedures not in adapter.capabilities:
        raise NotSupported("procedures")
    procedures = await call(tenant, adapter, "procedures", adapter.procedures(), timeout=CATALOGUE_TIMEOUT)
    async with runtime.db.tenant(tenant) as conn:
        return await upsert_procedures(conn, tenant, procedures)
