"""Broadcast creation, batch sending (job ``broadcasts.run``) and progress."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import asyncpg

from motcua.domain import audit
from motcua.domain.auth.principal import Principal
from motcua.jobs import Job, JobContext, Retry, enqueue

BATCH = 500
MAX_PENDING = 2 * BATCH  # queued, unsent messages of one broadcast before the next batch waits
MAX_TEXT = 2000
TAG = re.compile(r"^[\w-]{1,40}$")
FINAL = ("sent", "delivered", "failed", "skipped")


class BroadcastError(ValueError):
    """Bad input; the message is Vietnamese."""


def _tags(tags: list[str] | tuple[str, ...] | str | None) -> list[str]:
    if isinstance(tags, str):
        tags = re.split(r"[,\s]+", tags)
    out = sorted({t.strip().lower() for t in tags or [] if t and t.strip()})
    bad = [t for t in out if not TAG.match(t)]
    if bad:
        raise BroadcastError(f"Nhãn không hợp lệ: {', '.join(bad)} (chỉ chữ, số, gạch ngang).")
    return out


_RECIPIENTS = """FROM citizen z WHERE z.tenant_id = $1 AND z.following AND z.erased_at IS NULL
                 AND (cardinality($2::text[]) = 0 OR EXISTS (SELECT 1 FROM citizen_tag t WHERE t.tenant_id = z.tenant_id
                      AND t.citizen_id = z.id AND t.tag = ANY($2::text[])))"""


async def recipients_count(conn: asyncpg.Connection, tenant_id: str, tags: list[str]) -> int:
    return await conn.fetchval(f"SELECT count(*) {_RECIPIENTS}", tenant_id, tags)


async def create_broadcast(conn: asyncpg.Connection, p: Principal, tenant_id: str, *, title: str, text: str,
                           tags: list[str] | str | None = None, scheduled_at: datetime | None = None) -> int:
    if not p.can_admin(tenant_id):
        raise BroadcastError("Chỉ quản trị tỉnh được gửi tin hàng loạt.")
    title, text = (title or "").strip(), (text or "").strip()
    if not title or len(title) > 200:
        raise BroadcastError("Cần tiêu đề (tối đa 200 ký tự).")
    if len(text) < 5 or len(text) > MAX_TEXT:
        raise BroadcastError(f"Nội dung cần từ 5 đến {MAX_TEXT} ký tự.")
    tag_list = _tags(tags)
    bid = await conn.fetchval(
        "INSERT INTO broadcast (tenant_id, title, text, tags, scheduled_at, created_by) "
        "VALUES ($1, $2, $3, $4, coalesce($5, now()), $6) RETURNING id",
        tenant_id, title, text, tag_list, scheduled_at, p.actor)
    await enqueue(conn, tenant_id, "broadcasts.run", {"broadcast_id": bid}, dedupe_key=f"broadcast:{bid}:from:0",
                  run_at=scheduled_at)
    await audit.record(conn, tenant_id, p.actor, "create", "broadcast", bid,
                       after={"title": title, "tags": tag_list, "scheduled_at": scheduled_at})
    return bid


async def cancel_broadcast(conn: asyncpg.Connection, p: Principal, tenant_id: str, broadcast_id: int) -> None:
    if not p.can_admin(tenant_id):
        raise BroadcastError("Chỉ quản trị tỉnh được hủy tin hàng loạt.")
    row = await conn.fetchrow("SELECT status FROM broadcast WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                              tenant_id, broadcast_id)
    if row is None:
        raise LookupError(broadcast_id)
    if row["status"] in ("done", "cancelled"):
        raise BroadcastError("Tin đã gửi xong hoặc đã hủy.")
    await conn.execute("UPDATE broadcast SET status = 'cancelled', finished_at = now() WHERE tenant_id = $1 AND id = $2",
                       tenant_id, broadcast_id)
    await audit.record(conn, tenant_id, p.actor, "cancel", "broadcast", broadcast_id,
                       before={"status": row["status"]}, after={"status": "cancelled"})


async def _pending(conn: asyncpg.Connection, tenant_id: str, broadcast_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM notification WHERE tenant_id = $1 AND dedupe_key LIKE 'broadcast:%' "
        "AND split_part(dedupe_key, ':', 2) = $2 AND status = 'queued'", tenant_id, str(broadcast_id))


async def run_broadcast(job: Job, ctx: JobContext) -> None:
    """One batch. Re-running it (after a crash) is harmless: the cursor and the messages commit
    together, and each message's dedupe key makes a repeat a no-op."""
    from motcua.channels.zalo.outbox import queue_message

    conn, tenant_id = ctx.conn, ctx.tenant_id
    bid = int(job.payload["broadcast_id"])
    b = await conn.fetchrow("SELECT * FROM broadcast WHERE tenant_id = $1 AND id = $2 FOR UPDATE", tenant_id, bid)
    if b is None or b["status"] in ("done", "cancelled"):
        return
    if await _pending(conn, tenant_id, bid) > MAX_PENDING:
        raise Retry("waiting for the outbox to drain", delay=1.0)
    tenant = await ctx.runtime.tenant(tenant_id)
    if tenant is None:
        return
    if b["status"] == "scheduled":
        total = await recipients_count(conn, tenant_id, list(b["tags"]))
        await conn.execute("UPDATE broadcast SET status = 'running', started_at = now(), total = $3 "
                           "WHERE tenant_id = $1 AND id = $2", tenant_id, bid, total)
    ids = [r["id"] for r in await conn.fetch(
        f"SELECT z.id {_RECIPIENTS} AND z.id > $3 ORDER BY z.id LIMIT $4", tenant_id, list(b["tags"]),
        b["cursor"], BATCH)]
    for cid in ids:
        await queue_message(conn, ctx.runtime, tenant, cid, kind="broadcast", text=b["text"],
                            dedupe_key=f"broadcast:{bid}:{cid}")
    if len(ids) == BATCH:
        await conn.execute("UPDATE broadcast SET cursor = $3, enqueued = enqueued + $4 WHERE tenant_id = $1 AND id = $2",
                           tenant_id, bid, ids[-1], len(ids))
        await enqueue(conn, tenant_id, "broadcasts.run", {"broadcast_id": bid},
                      dedupe_key=f"broadcast:{bid}:from:{ids[-1]}")
    else:
        await conn.execute(
            "UPDATE broadcast SET cursor = coalesce($3, cursor), enqueued = enqueued + $4, status = 'done', "
            "finished_at = now() WHERE tenant_id = $1 AND id = $2", tenant_id, bid, ids[-1] if ids else None, len(ids))


async def progress(conn: asyncpg.Connection, tenant_id: str, broadcast_id: int) -> dict[str, Any] | None:
    b = await conn.fetchrow("SELECT id, title, status, total, enqueued, scheduled_at, started_at, finished_at "
                            "FROM broadcast WHERE tenant_id = $1 AND id = $2", tenant_id, broadcast_id)
    if b is None:
        return None
    counts = {r["status"]: r["n"] for r in await conn.fetch(
        "SELECT status, count(*) AS n FROM notification WHERE tenant_id = $1 AND dedupe_key LIKE 'broadcast:%' "
        "AND split_part(dedupe_key, ':', 2) = $2 GROUP BY status", tenant_id, str(broadcast_id))}
    total = b["total"] if b["total"] is not None else None
    finished = sum(counts.get(s, 0) for s in FINAL)
    if b["status"] == "cancelled":
        percent = 100.0
    elif total is None:
        percent = 0.0
    elif total == 0:
        percent = 100.0 if b["status"] == "done" else 0.0
    else:
        percent = min(100.0, round(100.0 * finished / total, 1))
        if percent >= 100.0 and b["status"] != "done":
            percent = 99.9  # every message out, but the last batch has not closed the broadcast yet
    return {"id": b["id"], "status": b["status"], "total": total, "enqueued": b["enqueued"],
            "queued": counts.get("queued", 0), "sent": counts.get("sent", 0), "delivered": counts.get("delivered", 0),
            "failed": counts.get("failed", 0), "skipped": counts.get("skipped", 0), "percent": percent,
            "done": percent >= 100.0}
