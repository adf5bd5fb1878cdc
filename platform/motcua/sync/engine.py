"""The poll: page through a tenant's change feed from its durable cursor, storing each page.

Each page commits its dossiers, its quarantined records and the cursor that follows it in one
transaction, so a crash resumes at the first page not stored and a page stored twice changes
nothing. The cursor advances compare-and-set: if another poll of the same tenant moved it
meanwhile (the worker and ``motcua sync`` at once), this one stops instead of fighting it.

Health (``sync_state``): last attempt, last success, last error and consecutive failures, read
by ``health()`` for the admin console and ``GET /api/v1/tenants/{tenant}/sync``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import asyncpg
import msgspec

from motcua import metrics
from motcua.domain.dossiers.store import PreparedDossier, prepare, upsert_prepared
from motcua.onestop.contract import Adapter, Capability, Malformed, NotSupported
from motcua.onestop.records import Dossier, Quarantined
from motcua.sync.calls import PAGE_TIMEOUT, call

SOURCE = "primary"
MAX_PAGES = 100_000  # a feed that never says "no more" is a bug; stop rather than loop forever


class PollReport(msgspec.Struct, kw_only=True):
    """What a poll did; handed to ``on_page`` after each page, and returned at the end."""

    tenant: str
    pages: int = 0
    dossiers: int = 0
    created: int = 0
    updated: int = 0
    events: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    cursor: str | None = None
    superseded: bool = False  # another poll of this tenant moved the cursor; this one stopped

    @property
    def rate(self) -> float:
        return self.dossiers / self.seconds if self.seconds > 0 else 0.0


class Superseded(Exception):
    """The cursor moved under us: another poll of the same tenant is running."""


def _prepare_page(crypto, tenant: str, dossiers: Sequence[Dossier]) -> tuple[list[PreparedDossier], list[Quarantined]]:
    good: list[PreparedDossier] = []
    bad: list[Quarantined] = []
    for d in dossiers:
        try:
            good.append(prepare(crypto, tenant, d))
        except (ValueError, TypeError) as exc:  # a record we cannot store is kept, never dropped
            bad.append(Quarantined(reason=f"không lưu được hồ sơ: {exc}", raw=msgspec.json.encode(d).decode(),
                                   code=getattr(d, "code", None) or None))
    return good, bad


async def quarantine(conn: asyncpg.Connection, tenant: str, source: str, records: Sequence[Quarantined]) -> int:
    """Keep records an adapter could not map, with the reason; the same record is kept once."""
    if not records:
        return 0
    result = await conn.execute(
        """INSERT INTO quarantine (tenant_id, source, code, reason, raw)
           SELECT $1, $2, q.code, q.reason, q.raw FROM unnest($3::text[], $4::text[], $5::text[]) AS q(code, reason, raw)
           ON CONFLICT DO NOTHING""",
        tenant, source, [r.code for r in records], [r.reason for r in records], [r.raw for r in records])
    return int(result.split()[-1])


async def store_page(conn: asyncpg.Connection, crypto, tenant: str, dossiers: Sequence[Dossier],
                     quarantined: Sequence[Quarantined], *, source: str) -> tuple[int, int, int, int]:
    """Store one page in the caller's transaction: (created, updated, events, quarantined)."""
    good, bad = _prepare_page(crypto, tenant, dossiers)
    result = await upsert_prepared(conn, tenant, good)
    kept = await quarantine(conn, tenant, source, [*quarantined, *bad])
    return result.created, result.updated, result.events, kept


async def poll(runtime, tenant: str, *, since: datetime | None = None,
               on_page: Callable[[PollReport], Awaitable[None] | None] | None = None,
               adapter_name: str = "") -> PollReport:
    """Pull every change since the stored cursor (or, with ``since``, since that moment: a
    backfill or the nightly reconciliation) and store it page by page.

    Raises the adapter's errors (``Unavailable`` when the system is down) after recording them
    in the sync health; returns a report with ``superseded`` when another poll took over.
    """
    adapter: Adapter = await runtime.adapter(tenant, adapter_name)
    if Capability.change_feed not in adapter.capabilities:
        raise NotSupported("change_feed")
    report = PollReport(tenant=tenant)
    started = time.perf_counter()
    async with runtime.db.tenant(tenant) as conn:
        stored = await conn.fetchval(
            """INSERT INTO sync_state (tenant_id, source, last_attempt_at) VALUES ($1, $2, now())
               ON CONFLICT (tenant_id, source) DO UPDATE SET last_attempt_at = now() RETURNING cursor""",
            tenant, SOURCE)
    expected = stored
    cursor = None if since else stored
    try:
        while True:
            page = await call(tenant, adapter, "changes",
                              adapter.changes(cursor, since=since if cursor is None else None), timeout=PAGE_TIMEOUT)
            async with runtime.db.tenant(tenant) as conn:
                moved = await conn.fetchval(
                    """UPDATE sync_state SET cursor = $3 WHERE tenant_id = $1 AND source = $2
                         AND ($5 OR cursor IS NOT DISTINCT FROM $4) RETURNING true""",
                    tenant, SOURCE, page.cursor, expected, since is not None)
                if not moved:
                    raise Superseded
                created, updated, events, kept = await store_page(
                    conn, runtime.crypto, tenant, page.dossiers, page.quarantined,
                    source="reconcile" if since else "poll")
            expected = page.cursor
            report.pages += 1
            report.dossiers += len(page.dossiers)
            report.created += created
            report.updated += updated
            report.events += events
            report.quarantined += kept
            report.cursor = page.cursor
            report.seconds = time.perf_counter() - started
            if on_page is not None:
                maybe = on_page(report)
                if maybe is not None:
                    await maybe
            if not page.has_more:
                break
            if page.cursor == cursor or report.pages >= MAX_PAGES:
                raise Malformed("luồng thay đổi không tiến lên (con trỏ không đổi): dừng để khỏi lặp vô tận")
            cursor = page.cursor
    except Superseded:
        report.superseded = True
        report.seconds = time.perf_counter() - started
        return report
    except Exception as exc:
        await record_failure(runtime, tenant, exc)
        raise
    await record_success(runtime, tenant)
    report.seconds = time.perf_counter() - started
    return report


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


async def record_failure(runtime, tenant: str, exc: BaseException) -> int:
    """Note the failure in the tenant's sync health; returns the consecutive failure count."""
    try:
        async with runtime.db.tenant(tenant) as conn:
            row = await conn.fetchrow(
                """INSERT INTO sync_state (tenant_id, source, last_attempt_at, last_error, last_error_at, failures)
                   VALUES ($1, $2, now(), $3, now(), 1)
                   ON CONFLICT (tenant_id, source) DO UPDATE SET last_error = $3, last_error_at = now(),
                     failures = sync_state.failures + 1
                   RETURNING failures, last_success_at""", tenant, SOURCE, describe(exc)[:1000])
    except Exception:  # noqa: BLE001 - the database being down is not worth hiding the adapter's error
        return 1
    if row["last_success_at"] is not None:
        lag_since(tenant, row["last_success_at"])
    return row["failures"]


async def record_success(runtime, tenant: str) -> None:
    async with runtime.db.tenant(tenant) as conn:
        await conn.execute(
            """INSERT INTO sync_state (tenant_id, source, last_attempt_at, last_success_at) VALUES ($1, $2, now(), now())
               ON CONFLICT (tenant_id, source) DO UPDATE SET last_success_at = now(), failures = 0""", tenant, SOURCE)
    lag_since(tenant, datetime.now(UTC))


def lag_since(tenant: str, success: datetime) -> None:
    """``motcua_sync_lag_seconds`` computed when scraped, so it keeps growing while polls fail or
    stop (a gauge set once would stay at 0 after the last success)."""
    metrics.SYNC_LAG.labels(tenant).set_function(lambda: (datetime.now(UTC) - success).total_seconds())


def retry_delay(failures: int, *, base: float = 15.0, cap: float = 900.0) -> float:
    """Exponential backoff for an unavailable system (15 s, 30 s, 1 min … 15 min), jittered so
    the provinces' retries do not line up."""
    delay = min(cap, base * 2 ** max(0, failures - 1))
    return delay * random.uniform(0.8, 1.2)


class SyncHealth(msgspec.Struct, kw_only=True):
    """How a tenant's sync is doing (``GET /api/v1/tenants/{tenant}/sync``)."""

    tenant: str
    family: str
    mode: str  # poll (change feed every 5 min), push (+ nightly reconciliation), lookup (live lookups only)
    capabilities: list[str]
    healthy: bool
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    lag_seconds: float | None = None  # since the last successful poll or reconciliation
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0  # consecutive
    quarantined: int = 0
    unknown_statuses: int = 0  # dossiers whose raw status no table maps
    dossiers: int = 0
    last_push_at: datetime | None = None
    pending_pushes: int = 0  # pushed events stored, not yet applied


POLL_EVERY_SECONDS = 300
RECONCILE_EVERY_SECONDS = 86_400


def sync_mode(capabilities) -> str:
    if Capability.push_events in capabilities:
        return "push"
    if Capability.change_feed in capabilities:
        return "poll"
    return "lookup"


async def health(runtime, tenant: str) -> SyncHealth | None:
    t = await runtime.tenant(tenant)
    if t is None:
        return None
    family = t.file.adapter.family
    caps = runtime.plugins.adapters.get(family).capabilities if family in runtime.plugins.adapters else frozenset()
    mode = sync_mode(caps)
    async with runtime.db.tenant(tenant) as conn:
        row = await conn.fetchrow(
            """SELECT s.last_success_at, s.last_attempt_at, s.last_error, s.last_error_at, s.failures,
                      extract(epoch FROM now() - s.last_success_at)::float8 AS lag,
                      (SELECT count(*) FROM quarantine) AS quarantined,
                      (SELECT count(*) FROM dossier WHERE status = 'unknown') AS unknown,
                      (SELECT count(*) FROM dossier) AS dossiers,
                      (SELECT max(received_at) FROM webhook_event WHERE source = 'onestop') AS last_push_at,
                      (SELECT count(*) FROM webhook_event WHERE source = 'onestop' AND processed_at IS NULL) AS pending
               FROM (SELECT 1) one LEFT JOIN sync_state s ON s.source = $1""", SOURCE)
    lag = row["lag"]
    allowed = {"poll": 3 * POLL_EVERY_SECONDS, "push": RECONCILE_EVERY_SECONDS + 6 * 3600}.get(mode)
    healthy = row["failures"] in (None, 0) and (allowed is None or (lag is not None and lag <= allowed))
    if row["last_success_at"] is not None:
        lag_since(tenant, row["last_success_at"])
    return SyncHealth(
        tenant=tenant, family=family, mode=mode, capabilities=sorted(str(c) for c in caps), healthy=healthy,
        last_success_at=row["last_success_at"], last_attempt_at=row["last_attempt_at"], lag_seconds=lag,
        last_error=row["last_error"], last_error_at=row["last_error_at"], failures=row["failures"] or 0,
        quarantined=row["quarantined"], unknown_statuses=row["unknown"], dossiers=row["dossiers"],
        last_push_at=row["last_push_at"], pending_pushes=row["pending"])
