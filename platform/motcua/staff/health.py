"""One tenant's health for the vendor's overview, read through that tenant's own door (RLS):
sync lag, webhook backlog, queue depth and parked jobs, the Zalo OA connection."""

from __future__ import annotations

from typing import Any

from motcua.runtime import Runtime


async def tenant_health(runtime: Runtime, slug: str) -> dict[str, Any]:
    tenant = await runtime.tenant(slug)
    async with runtime.db.tenant(slug) as conn:
        sync = await conn.fetchrow(
            "SELECT max(last_success_at) AS last_success, extract(epoch FROM now() - max(last_success_at)) AS lag, "
            "max(last_error) FILTER (WHERE last_error_at > coalesce(last_success_at, '-infinity')) AS error "
            "FROM sync_state WHERE tenant_id = $1", slug)
        jobs = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'queued') AS queued, count(*) FILTER (WHERE status = 'running') "
            "AS running, count(*) FILTER (WHERE status = 'parked') AS parked, "
            "extract(epoch FROM now() - min(run_at) FILTER (WHERE status = 'queued' AND run_at <= now())) AS oldest "
            "FROM job WHERE tenant_id = $1", slug)
        webhooks = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE processed_at IS NULL AND received_at < now() - interval '5 minutes') AS stuck, "
            "count(*) FILTER (WHERE received_at > now() - interval '1 day') AS today "
            "FROM webhook_event WHERE tenant_id = $1", slug)
        oa = None
        if await conn.fetchval("SELECT to_regclass('oa_connection') IS NOT NULL"):
            oa = await conn.fetchrow("SELECT status, access_expires_at, last_error FROM oa_connection "
                                     "WHERE tenant_id = $1", slug)
        failed_sends = await conn.fetchval(
            "SELECT count(*) FROM notification WHERE tenant_id = $1 AND status = 'failed' "
            "AND created_at > now() - interval '1 day'", slug)
    return {"tenant": slug, "name": tenant.file.name if tenant else slug,
            "sync_last_success": sync["last_success"], "sync_lag_seconds": None if sync["lag"] is None else float(sync["lag"]),
            "sync_error": sync["error"], "queued": jobs["queued"], "running": jobs["running"], "parked": jobs["parked"],
            "oldest_queued_seconds": None if jobs["oldest"] is None else float(jobs["oldest"]),
            "webhooks_stuck": webhooks["stuck"], "webhooks_today": webhooks["today"], "failed_sends_today": failed_sends,
            "oa_status": oa["status"] if oa else "not_connected", "oa_error": oa["last_error"] if oa else None,
            "oa_expires_at": oa["access_expires_at"] if oa else None}
