"""The few tenant settings an admin may change at run time (``tenant_setting``); everything else
comes from the tenant file. Each has a default taken from the file."""

from __future__ import annotations

from typing import Any

import asyncpg

from motcua.domain import audit
from motcua.tenancy.schema import Tenant

EDITABLE: dict[str, tuple[str, type]] = {
    "public_feedback_page": ("Trang công khai phản ánh đã trả lời", bool),
    "reply_signature": ("Chữ ký cuối câu trả lời của cán bộ", str),
}


def defaults(tenant: Tenant) -> dict[str, Any]:
    return {"public_feedback_page": tenant.file.features.public_feedback_page, "reply_signature": ""}


async def effective(conn: asyncpg.Connection, tenant: Tenant) -> dict[str, Any]:
    values = defaults(tenant)
    for r in await conn.fetch("SELECT key, value FROM tenant_setting WHERE tenant_id = $1", tenant.slug):
        if r["key"] in EDITABLE:
            values[r["key"]] = r["value"]
    return values


async def update(conn: asyncpg.Connection, tenant: Tenant, actor: str, changes: dict[str, Any]) -> dict[str, Any]:
    before = await effective(conn, tenant)
    changed = {}
    for key, value in changes.items():
        if key not in EDITABLE:
            raise ValueError(f"Không sửa được mục {key} ở đây; hãy sửa tệp cấu hình của tỉnh.")
        kind = EDITABLE[key][1]
        value = bool(value) if kind is bool else str(value or "").strip()[:300]
        if before.get(key) != value:
            await conn.execute(
                "INSERT INTO tenant_setting (tenant_id, key, value, updated_by) VALUES ($1, $2, $3::jsonb, $4) "
                "ON CONFLICT (tenant_id, key) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, "
                "updated_at = now()", tenant.slug, key, value, actor)
            changed[key] = value
    if changed:
        await audit.record(conn, tenant.slug, actor, "update", "tenant_setting", None,
                           before={k: before.get(k) for k in changed}, after=changed)
    return changed
