"""From a timeline event to queued messages: the subscriber and the ``notifications.send`` job."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg

from motcua.domain.conversation import dossier as dossiers
from motcua.domain.notifications import rules
from motcua.domain.notifications.send import send, url_button
from motcua.jobs import enqueue

log = logging.getLogger(__name__)


def _get(obj: Any, *names: str) -> Any:
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if hasattr(obj, name):
            return getattr(obj, name)
        try:
            return obj[name]  # asyncpg.Record
        except (KeyError, TypeError, IndexError):
            continue
    return None


async def on_dossier_event(event: Any, context: Any) -> None:
    """Subscriber for every new timeline event (``motcua_register_subscribers``): runs in the
    event's tenant transaction, so the jobs it enqueues commit with the event being handled."""
    event_id = _get(event, "event_id", "id")
    conn = _get(context, "conn")
    tenant_id = _get(context, "tenant_id", "tenant")
    if hasattr(tenant_id, "slug"):
        tenant_id = tenant_id.slug
    if event_id is None or conn is None or not tenant_id:
        log.warning("notifier got an event it cannot read: %r", event)
        return
    await notify_event(conn, _get(context, "runtime"), str(tenant_id), int(event_id))


SWEEP = "notifications.overdue_sweep"


async def ensure_sweep(conn: asyncpg.Connection, tenant_id: str) -> None:
    """The hourly overdue sweep exists for every tenant where someone follows a dossier."""
    await conn.execute(
        """INSERT INTO schedule (tenant_id, kind, every, next_run_at) VALUES ($1, $2, interval '1 hour', now())
           ON CONFLICT (tenant_id, kind) DO NOTHING""", tenant_id, SWEEP)


async def overdue_sweep_job(job: Any, ctx: Any) -> None:
    """``notifications.overdue_sweep``: a dossier past its due date with no result and no new date
    gets an ``overdue`` timeline event (once per due date), which notifies its subscribers the
    usual way. Paused clocks (supplement, payment) are not overdue."""
    conn, tenant_id = ctx.conn, ctx.tenant_id
    rows = await conn.fetch(
        """INSERT INTO dossier_event (tenant_id, dossier_id, kind, status, raw_status, at, data, dedupe_key)
           SELECT d.tenant_id, d.id, 'overdue', d.status, d.raw_status, d.due_at,
                  jsonb_build_object('due_at', d.due_at), 'overdue:' || d.code_key || ':' || d.due_at::text
           FROM dossier d
           WHERE d.tenant_id = $1 AND d.due_at < now() AND d.finished_at IS NULL
             AND d.status IN ('submitted', 'received', 'processing')
             AND EXISTS (SELECT 1 FROM subscription s WHERE s.tenant_id = d.tenant_id AND s.dossier_id = d.id
                         AND s.stopped_at IS NULL)
           ON CONFLICT (tenant_id, dedupe_key) DO NOTHING RETURNING id""", tenant_id)
    for r in rows:
        # The sync part's job hands the event to every subscriber, this notifier included.
        await enqueue(conn, tenant_id, "dossiers.event", {"event_id": r["id"]}, dedupe_key=f"dossiers.event:{r['id']}")


def clock() -> datetime:
    """The time quiet hours are judged by (tests that are not about them set it to daytime)."""
    return datetime.now(UTC)


async def notify_event(conn: asyncpg.Connection, runtime: Any, tenant_id: str, event_id: int,
                       *, now: datetime | None = None) -> int:
    """Enqueue one ``notifications.send`` per subscribed citizen for this event, if the tenant's
    rules say the event notifies. Returns how many were enqueued (repeats enqueue none)."""
    tenant = await runtime.tenant(tenant_id)
    if tenant is None or not tenant.file.features.notifications:
        return 0
    ev = await conn.fetchrow("SELECT id, dossier_id, kind, status, note, data, at FROM dossier_event "
                             "WHERE tenant_id = $1 AND id = $2", tenant_id, event_id)
    if ev is None:
        return 0
    kind = rules.kind_for_event(ev["kind"], ev["status"], ev["data"] or {})
    cfg = tenant.file.notifications
    if kind is None or kind not in cfg.events:
        return 0
    # Only what happened after the citizen subscribed is news to them: the lookup that
    # subscribed them already showed the earlier events (and a backfill replays old ones).
    subscribers = await conn.fetch(
        """SELECT s.citizen_id FROM subscription s JOIN citizen c ON c.tenant_id = s.tenant_id AND c.id = s.citizen_id
           JOIN dossier_event e ON e.tenant_id = s.tenant_id AND e.id = $3
           WHERE s.tenant_id = $1 AND s.dossier_id = $2 AND s.stopped_at IS NULL AND c.erased_at IS NULL
             AND e.created_at >= s.created_at""",
        tenant_id, ev["dossier_id"], ev["id"])
    if not subscribers:
        return 0
    run_at = rules.after_quiet_hours(now or clock(), cfg.quiet_hours.start, cfg.quiet_hours.end,
                                     tenant.file.timezone)
    count = 0
    for s in subscribers:
        job = await enqueue(conn, tenant_id, "notifications.send",
                            {"event_id": ev["id"], "citizen_id": s["citizen_id"], "kind": kind},
                            dedupe_key=f"notify:{ev['id']}:{s['citizen_id']}", run_at=run_at)
        count += job is not None
    return count


async def send_job(job: Any, ctx: Any) -> None:
    """``notifications.send``: render the event for one citizen and hand it to the outbox.
    The dedupe key is per event per citizen, so a retried job never sends twice."""
    conn, tenant_id, runtime = ctx.conn, ctx.tenant_id, ctx.runtime
    p = job.payload
    tenant = await runtime.tenant(tenant_id)
    if tenant is None:
        return
    still = await conn.fetchval(
        """SELECT s.stopped_at IS NULL FROM subscription s JOIN dossier_event e
             ON e.tenant_id = s.tenant_id AND e.dossier_id = s.dossier_id
           WHERE s.tenant_id = $1 AND e.id = $2 AND s.citizen_id = $3""", tenant_id, p["event_id"], p["citizen_id"])
    if not still:  # the citizen said "dừng thông báo" meanwhile
        return
    ev = await conn.fetchrow("SELECT dossier_id, note, data FROM dossier_event WHERE tenant_id = $1 AND id = $2",
                             tenant_id, p["event_id"])
    view = await dossiers.by_id(conn, tenant_id, ev["dossier_id"], events=0)
    if view is None:
        return
    link = dossiers.status_link(runtime, tenant_id, view.code, view.code_key)
    notice = rules.render(p["kind"], view, link, tz=tenant.file.timezone, templates=tenant.file.notifications.templates,
                          event_note=ev["note"], event_data=ev["data"] or {})
    buttons = [url_button(*notice.button)] if notice.button else []
    await send(conn, runtime, tenant_id, p["citizen_id"], kind=notice.kind, text=notice.text,
               buttons=buttons, dossier_id=view.id, dedupe_key=f"notify:{p['event_id']}:{p['citizen_id']}",
               zns=(notice.kind, notice.zns_params))


async def subscribe(conn: asyncpg.Connection, tenant_id: str, citizen_id: int, dossier_id: int,
                    source: str = "lookup") -> bool:
    """Subscribe (again, if they had stopped). Returns True when newly subscribed."""
    await ensure_sweep(conn, tenant_id)
    row = await conn.fetchrow(
        # clock_timestamp(): events stored by a lookup committed during this transaction are older.
        """INSERT INTO subscription (tenant_id, citizen_id, dossier_id, source, created_at)
           VALUES ($1, $2, $3, $4, clock_timestamp())
           ON CONFLICT (tenant_id, citizen_id, dossier_id) DO UPDATE SET stopped_at = NULL
           RETURNING (xmax = 0) AS created""", tenant_id, citizen_id, dossier_id, source)
    return bool(row["created"])


async def stop(conn: asyncpg.Connection, tenant_id: str, citizen_id: int, dossier_id: int | None = None) -> int:
    """Stop notifications for one dossier, or all of the citizen's. Returns how many stopped."""
    result = await conn.execute(
        """UPDATE subscription SET stopped_at = now()
           WHERE tenant_id = $1 AND citizen_id = $2 AND stopped_at IS NULL AND ($3::bigint IS NULL OR dossier_id = $3)""",
        tenant_id, citizen_id, dossier_id)
    return int(result.split()[-1])
