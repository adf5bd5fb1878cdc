"""The audit log (nhật ký thao tác): who changed what, when, with the before and after values.

Every staff action that changes data calls ``record`` in the same transaction as the change,
so a change and its audit entry commit or roll back together. Admins read it with ``recent``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg


def _plain(value: Any) -> Any:
    """JSON-safe copy of a row or value (timestamps as ISO text)."""
    if isinstance(value, asyncpg.Record):
        value = dict(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return None  # sealed personal data never goes into the log
    return value


async def record(conn: asyncpg.Connection, tenant_id: str, actor: str, action: str, entity: str,
                 entity_id: object = None, *, before: Any = None, after: Any = None) -> None:
    """Append one entry, inside the caller's tenant transaction."""
    await conn.execute(
        "INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id, before, after) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        tenant_id, actor, action, entity, None if entity_id is None else str(entity_id),
        None if before is None else _plain(before), None if after is None else _plain(after))


async def recent(conn: asyncpg.Connection, *, limit: int = 200, entity: str | None = None,
                 actor: str | None = None) -> list[asyncpg.Record]:
    """The newest entries first, optionally for one entity kind or one actor."""
    return await conn.fetch(
        "SELECT id, actor, action, entity, entity_id, before, after, at FROM audit_log "
        "WHERE ($1::text IS NULL OR entity = $1) AND ($2::text IS NULL OR actor = $2) "
        "ORDER BY at DESC, id DESC LIMIT $3", entity, actor, limit)


async def record_session(session: Any, tenant_id: str, actor: str, action: str, entity: str,
                         entity_id: object = None, *, before: Any = None, after: Any = None) -> None:
    """``record`` for an SQLAlchemy session (admin CRUD), in the session's transaction."""
    import json

    from sqlalchemy import text

    await session.execute(
        text("INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id, before, after) "
             "VALUES (:t, :actor, :action, :entity, :eid, CAST(:before AS jsonb), CAST(:after AS jsonb))"),
        {"t": tenant_id, "actor": actor, "action": action, "entity": entity,
         "eid": None if entity_id is None else str(entity_id),
         "before": None if before is None else json.dumps(_plain(before), ensure_ascii=False),
         "after": None if after is None else json.dumps(_plain(after), ensure_ascii=False)})
