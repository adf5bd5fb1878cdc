"""Sync jobs and the schedules that fire them.

- ``tenants.applied``: a tenant file was applied. From what its adapter family declares, keep the
  tenant's schedules: ``sync.poll`` every 5 minutes (change feed, no push), ``sync.reconcile``
  nightly (push systems: a pull of the last 26 hours repairs missed pushes), ``procedures.refresh``
  daily (procedure catalogue). The first run of each is enqueued at once, so a new province is
  synced within seconds of ``motcua tenants apply``, with no restart.
- ``sync.poll`` / ``sync.reconcile``: ``engine.poll``. An unavailable system is retried with
  exponential backoff (``Retry``, not counted as a failure of the job); the outage is recorded in
  the tenant's sync health.
- ``sync.push``: apply stored pushed events (``push.apply_pushes``).
- ``procedures.refresh``: the catalogue upsert.
- ``dossiers.event``: hand a new timeline event to the subscribers.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from motcua.domain.dossiers.events import deliver_event
from motcua.domain.dossiers.store import EVENT_JOB
from motcua.jobs import Job, JobContext, JobRegistry, Retry, enqueue
from motcua.onestop.contract import Capability, NotSupported, Unavailable
from motcua.sync.engine import POLL_EVERY_SECONDS, RECONCILE_EVERY_SECONDS, poll, retry_delay
from motcua.sync.procedures import refresh_procedures
from motcua.sync.push import PUSH_JOB, apply_pushes

log = logging.getLogger(__name__)

POLL_JOB = "sync.poll"
RECONCILE_JOB = "sync.reconcile"
PROCEDURES_JOB = "procedures.refresh"
OUR_SCHEDULES = (POLL_JOB, RECONCILE_JOB, PROCEDURES_JOB)
RECONCILE_HOURS = 26  # a night's pull overlaps the previous one, so nothing falls between two
RECONCILE_AT = time(2, 0)  # local time: the provinces' systems are quiet at night


def next_local(at: time, tz: str, now: datetime | None = None) -> datetime:
    zone = ZoneInfo(tz)
    now = (now or datetime.now(UTC)).astimezone(zone)
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + timedelta(days=1)


def wanted_schedules(capabilities, tz: str) -> dict[str, tuple[int, dict, datetime]]:
    """kind -> (every seconds, payload, first run) for an adapter with these capabilities."""
    now = datetime.now(UTC)
    out: dict[str, tuple[int, dict, datetime]] = {}
    if Capability.push_events in capabilities:
        if Capability.change_feed in capabilities:
            out[RECONCILE_JOB] = (RECONCILE_EVERY_SECONDS, {"hours": RECONCILE_HOURS}, next_local(RECONCILE_AT, tz, now))
    elif Capability.change_feed in capabilities:
        out[POLL_JOB] = (POLL_EVERY_SECONDS, {}, now + timedelta(seconds=POLL_EVERY_SECONDS))
    if Capability.procedures in capabilities:
        out[PROCEDURES_JOB] = (86_400, {}, now + timedelta(days=1))
    return out


async def tenant_applied(job: Job, ctx: JobContext) -> None:
    """Keep the tenant's sync schedules in line with its adapter, and sync it now."""
    row = await ctx.conn.fetchrow("SELECT config FROM tenant WHERE id = $1 AND active", ctx.tenant_id)
    if row is None:
        return
    family = row["config"]["adapter"]["family"]
    adapters = ctx.runtime.plugins.adapters
    if family not in adapters:
        log.warning("tenant %s names adapter family %r, which is not installed: nothing to sync", ctx.tenant_id, family)
        caps: frozenset = frozenset()
    else:
        caps = adapters.get(family).capabilities
    wanted = wanted_schedules(caps, row["config"].get("timezone") or "Asia/Ho_Chi_Minh")
    for kind, (every, payload, first) in wanted.items():
        await ctx.conn.execute(
            """INSERT INTO schedule (tenant_id, kind, every, next_run_at, payload)
               VALUES ($1, $2, make_interval(secs => $3), $4, $5)
               ON CONFLICT (tenant_id, kind) DO UPDATE SET every = EXCLUDED.every, payload = EXCLUDED.payload""",
            ctx.tenant_id, kind, float(every), first, payload)
    await ctx.conn.execute("DELETE FROM schedule WHERE kind = ANY($1::text[]) AND NOT kind = ANY($2::text[])",
                           list(OUR_SCHEDULES), list(wanted))
    # Run each once now (under the schedule's own dedupe key, so a tick firing meanwhile is one job).
    for kind, (_, payload, _) in wanted.items():
        await enqueue(ctx.conn, ctx.tenant_id, kind, payload, dedupe_key=f"schedule:{kind}")


async def _failures(ctx: JobContext) -> int:
    return await ctx.conn.fetchval("SELECT failures FROM sync_state WHERE source = 'primary'") or 1


async def poll_job(job: Job, ctx: JobContext) -> None:
    since = None
    if job.payload.get("hours"):
        since = datetime.now(UTC) - timedelta(hours=float(job.payload["hours"]))
    elif job.payload.get("since"):
        since = datetime.fromisoformat(job.payload["since"])
    try:
        report = await poll(ctx.runtime, ctx.tenant_id, since=since)
    except NotSupported:  # the tenant changed adapter since this was scheduled
        log.info("tenant %s no longer has a change feed; %s skipped", ctx.tenant_id, job.kind)
        return
    except Unavailable as exc:
        raise Retry(f"hệ thống một cửa chưa sẵn sàng: {exc}", delay=retry_delay(await _failures(ctx))) from exc
    log.info("synced %s: %s pages, %s dossiers, %s events%s", ctx.tenant_id, report.pages, report.dossiers,
             report.events, " (another poll took over)" if report.superseded else "")


async def procedures_job(job: Job, ctx: JobContext) -> None:
    try:
        result = await refresh_procedures(ctx.runtime, ctx.tenant_id)
    except NotSupported:
        return
    except Unavailable as exc:
        raise Retry(f"hệ thống một cửa chưa sẵn sàng: {exc}", delay=retry_delay(2, base=300.0, cap=3600.0)) from exc
    log.info("procedure catalogue of %s: %s received, %s changed, %s removed", ctx.tenant_id, result.received,
             result.changed, result.removed)


def register(registry: JobRegistry) -> None:
    registry.register("tenants.applied", tenant_applied)
    registry.register(POLL_JOB, poll_job)
    registry.register(RECONCILE_JOB, poll_job)
    registry.register(PUSH_JOB, apply_pushes)
    registry.register(PROCEDURES_JOB, procedures_job)
    registry.register(EVENT_JOB, deliver_event)
