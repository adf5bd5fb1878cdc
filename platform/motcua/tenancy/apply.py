"""Apply validated tenant files to the database, idempotently, saying what changed.

Runs as the owner role (the tenant table is the platform's; the application role only reads
it). Tenant-owned rows are written inside the tenant's own transaction like everything else.
A ``tenants.applied`` job is enqueued in that transaction so that other parts (sync schedules,
the procedure catalogue) react without the loader knowing them.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg
import msgspec

from motcua.crypto import Crypto, get_secret, put_secret
from motcua.db.database import bind_tenant
from motcua.jobs.queue import enqueue
from motcua.tenancy.loader import _wards, config_hash, read_secrets
from motcua.tenancy.schema import Tenant


def agency_rows(tenant: Tenant) -> dict[str, tuple[str, str, str | None]]:
    """code -> (name, kind, ward_code); communes are named from the official ward list."""
    f = tenant.file
    wards = _wards(f.stat_code) if any(a.kind == "commune" for a in f.agencies) else {}
    rows = {}
    for a in f.agencies:
        name = a.name or f"UBND {wards.get(a.ward_code or '', a.code)}"
        rows[a.code] = (name, a.kind, a.ward_code)
    return rows


async def apply_tenant(conn: asyncpg.Connection, crypto: Crypto, tenant: Tenant,
                       environ: Mapping[str, str] | None = None) -> list[str]:
    f = tenant.file
    changes: list[str] = []
    digest = config_hash(tenant)
    config = msgspec.to_builtins(f)
    async with conn.transaction():
        old = await conn.fetchrow("SELECT config_hash, name FROM tenant WHERE id = $1", tenant.slug)
        await conn.execute(
            """INSERT INTO tenant (id, name, stat_code, agency_code, oa_id, hosts, code_prefixes, config, config_hash)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (id) DO UPDATE SET name = $2, stat_code = $3, agency_code = $4, oa_id = $5, hosts = $6,
                 code_prefixes = $7, config = $8, config_hash = $9, active = true, updated_at = now()
               WHERE tenant.config_hash IS DISTINCT FROM $9 OR NOT tenant.active""",
            tenant.slug, f.name, f.stat_code, f.agency_code, f.zalo.oa_id if f.zalo else None, f.hosts,
            tenant.code_prefixes, config, digest)
        if old is None:
            changes.append("created")
        elif old["config_hash"] != digest:
            changes.append("settings changed")

        await bind_tenant(conn, tenant.slug)
        current = {r["code"]: (r["name"], r["kind"], r["ward_code"]) for r in
                   await conn.fetch("SELECT code, name, kind, ward_code FROM agency WHERE tenant_id = $1 AND active",
                                    tenant.slug)}
        wanted = agency_rows(tenant)
        added = [c for c in wanted if c not in current]
        changed = [c for c in wanted if c in current and current[c] != wanted[c]]
        removed = [c for c in current if c not in wanted]
        for code in added + changed:
            name, kind, ward = wanted[code]
            await conn.execute(
                """INSERT INTO agency (tenant_id, code, name, kind, ward_code) VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (tenant_id, code) DO UPDATE SET name = $3, kind = $4, ward_code = $5, active = true""",
                tenant.slug, code, name, kind, ward)
        if removed:  # kept for history (dossiers and feedback point at them), hidden from routing
            await conn.execute("UPDATE agency SET active = false WHERE tenant_id = $1 AND code = ANY($2)",
                               tenant.slug, removed)
        if added or changed or removed:
            changes.append(f"agencies +{len(added)} ~{len(changed)} -{len(removed)}")

        found, missing = read_secrets(tenant, environ)
        for purpose, value in sorted(found.items()):
            if await get_secret(conn, crypto, tenant.slug, purpose) != value:
                await put_secret(conn, crypto, tenant.slug, purpose, value)
                changes.append(f"secret {purpose} stored")
        changes += [f"warning: secret {m}" for m in missing]
        if any(not c.startswith("warning") for c in changes):
            await enqueue(conn, tenant.slug, "tenants.applied", {"config_hash": digest},
                          dedupe_key=f"tenants.applied:{digest}")
    return changes


async def apply_all(conn: asyncpg.Connection, crypto: Crypto, tenants: list[Tenant],
                    environ: Mapping[str, str] | None = None) -> dict[str, list[str]]:
    return {t.slug: await apply_tenant(conn, crypto, t, environ) for t in tenants}
