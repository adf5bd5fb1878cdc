"""Push intake: ``POST /onestop/{tenant}/events``, where a one-stop system that pushes tells us a
dossier changed.

The hot path only verifies and parses (the tenant's adapter checks the signature and the
timestamp), stores each event once in ``webhook_event`` (idempotent on its event id) and
enqueues one ``sync.push`` job in the same transaction, then answers 200. A rejected request
writes nothing. The worker applies the stored events to the dossiers (``apply_pushes``).

Stored events hold no plain personal number: the dossier is kept in its prepared form, with the
applicant's phone and ID number already replaced by their keyed hashes.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
from litestar import Request, Response, post

from motcua import metrics
from motcua.domain.dossiers.store import PreparedDossier, prepare, upsert_prepared
from motcua.jobs import Job, JobContext
from motcua.onestop.contract import AdapterError, Capability, Malformed, Rejected
from motcua.runtime import Runtime

log = logging.getLogger(__name__)
PUSH_JOB = "sync.push"
PUSH_BATCH = 500  # events applied per job; every stored event has its job, so none is left behind

STORE_EVENTS = f"""
WITH inc AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS e(key, name, payload)
), ins AS (
  INSERT INTO webhook_event (tenant_id, source, event_key, event_name, payload)
  SELECT $1, 'onestop', key, name, payload::jsonb FROM inc
  ON CONFLICT (tenant_id, source, event_key) DO NOTHING
  RETURNING id
), job AS (
  INSERT INTO job (tenant_id, kind, payload)
  SELECT $1, '{PUSH_JOB}', jsonb_build_object('webhook_event_ids', array_agg(id ORDER BY id)) FROM ins
  HAVING count(*) > 0
  RETURNING id
)
SELECT (SELECT count(*) FROM ins) AS stored, (SELECT count(*) FROM job) AS jobs
"""


def problem(status: int, title: str, detail: str) -> Response[dict[str, Any]]:
    return Response({"type": "about:blank", "title": title, "status": status, "detail": detail},
                    status_code=status, media_type="application/problem+json")


@post("/onestop/{tenant:str}/events", operation_id="ReceiveOneStopEvents", status_code=200,
      summary="Nhận sự kiện thay đổi hồ sơ do hệ thống một cửa của tỉnh đẩy sang",
      description="Signed with X-Motcua-Signature and X-Motcua-Timestamp (see the tenant's adapter). "
                  "Idempotent on the event id: a repeated event answers 200 with duplicate=true.")
async def receive_events(tenant: str, request: Request, runtime: Runtime) -> Response[dict[str, Any]]:
    started = time.perf_counter()
    outcome = "rejected"
    label = "unknown"  # never a label per made-up slug: anyone can call this URL
    try:
        t = await runtime.tenant(tenant)
        if t is None:
            outcome = "unknown_tenant"
            return problem(404, "Not Found", f"Không có tỉnh/thành '{tenant}' trên Motcua.")
        label = tenant
        try:
            adapter = await runtime.adapter(tenant)
        except LookupError:
            outcome = "no_adapter"
            return problem(404, "Not Found", f"Tỉnh/thành '{tenant}' chưa cấu hình bộ kết nối một cửa.")
        if Capability.push_events not in adapter.capabilities:
            outcome = "not_push"
            return problem(404, "Not Found",
                           f"Hệ thống một cửa của '{tenant}' không đẩy sự kiện sang Motcua (bộ kết nối "
                           f"'{adapter.family}' không hỗ trợ push_events); Motcua tự hỏi hệ thống đó.")
        body = await request.body()
        try:
            changes = await adapter.parse_push(body, request.headers)
        except Rejected as exc:
            return problem(401, "Unauthorized", f"Sự kiện bị từ chối: {exc}. Không có gì được ghi nhận.")
        except (Malformed, AdapterError, ValueError, msgspec.MsgspecError) as exc:
            outcome = "malformed"
            return problem(400, "Bad Request", f"Không đọc được sự kiện: {exc}. Không có gì được ghi nhận.")
        keys, names, payloads = [], [], []
        for change in changes:
            try:
                prepared = prepare(runtime.crypto, tenant, change.dossier)
            except (ValueError, TypeError) as exc:
                outcome = "malformed"
                return problem(400, "Bad Request", f"Sự kiện '{change.event_id}' không có hồ sơ hợp lệ: {exc}.")
            keys.append(str(change.event_id))
            names.append(f"dossier.{prepared.status}")
            payloads.append(msgspec.json.encode({"event_id": change.event_id, "dossier": prepared}).decode())
        if not keys:
            outcome = "empty"
            return Response({"accepted": 0, "duplicate": False, "events": []})
        async with runtime.db.tenant(tenant) as conn:
            row = await conn.fetchrow(STORE_EVENTS, tenant, keys, names, payloads)
        stored = row["stored"]
        outcome = "stored" if stored else "duplicate"
        return Response({"accepted": stored, "duplicate": stored == 0, "duplicates": len(set(keys)) - stored,
                         "events": keys})
    finally:
        metrics.WEBHOOK_REQUESTS.labels(label, "onestop", outcome).inc()
        metrics.WEBHOOK_LATENCY.labels(label, "onestop").observe(time.perf_counter() - started)


async def apply_pushes(job: Job, ctx: JobContext) -> None:
    """``sync.push``: apply the tenant's stored pushed events to the dossiers, oldest first.

    Each job takes every event still waiting (not only its own), in arrival order, under row
    locks: two jobs claimed together would otherwise apply a later change before an earlier one,
    and the earlier one, now stale, would never reach the timeline. The job that waited finds
    the events done and has nothing left to do.
    """
    rows = await ctx.conn.fetch(
        """SELECT id, event_name, payload FROM webhook_event
           WHERE source = 'onestop' AND processed_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE""", PUSH_BATCH)
    if not rows:
        return
    prepared = [msgspec.convert(r["payload"]["dossier"], PreparedDossier, strict=False) for r in rows]
    # Several events may concern one dossier: apply them in the order they happened.
    order = sorted(range(len(prepared)), key=lambda i: (prepared[i].source_updated_at is None,
                                                         prepared[i].source_updated_at or 0, i))
    await upsert_prepared(ctx.conn, ctx.tenant_id, [prepared[i] for i in order])
    await ctx.conn.execute("UPDATE webhook_event SET processed_at = now() WHERE id = ANY($1::bigint[])",
                           [r["id"] for r in rows])
    for r in rows:
        metrics.EVENTS_PROCESSED.labels(ctx.tenant_id, "onestop", r["event_name"]).inc()
