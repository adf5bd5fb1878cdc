"""Zalo webhooks in: ``POST /zalo/{tenant}/webhook`` and the app-wide ``POST /zalo/webhook``
(routed by OA id). The hottest path: verify, store once, enqueue, answer — in one transaction.

Decisions (reference zalo.md §3):

* Signature: ``X-ZEvent-Signature`` checked over the raw body with the tenant's OA secret key
  (decrypted keys cached a minute; a mismatch re-reads the key once, in case it was reset).
  Missing or wrong → 401, nothing written.
* An event-less body (Zalo's "Test" button, a registration ping, ``{}``) → 200, nothing written.
* Stored once in ``webhook_event`` keyed by event name + msg_id (or + timestamp + subject);
  its job is enqueued by the same statement (``motcua_zalo_ingest``, one round trip):
  ``zalo.message`` for a citizen's message (``user_send_*``, processed in batches),
  ``zalo.event`` for every other event. A redelivery (``num_retry``) or a replay inside the
  window answers 200 and changes nothing.
* Zalo retries for about 1 h 51 min (30 s, 5 min, 15 min, 30 min, 1 h). An event older than
  ``MAX_AGE`` cannot be a retry, so it is a replay: 422, nothing written. Zalo itself never sends
  those, so refusing them cannot get the subscription disabled.
* Every accepted event answers 200 well within Zalo's 2 seconds; processing is the worker's.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, post

from motcua import metrics, tracing
from motcua.channels.zalo import signature
from motcua.channels.zalo.events import ZaloEvent, parse
from motcua.channels.zalo.tokens import SECRET_KEY
from motcua.crypto import get_secret
from motcua.runtime import Runtime

log = logging.getLogger(__name__)

MAX_AGE_MS = (2 * 3600 + 15 * 60) * 1000  # the retry ladder (~1 h 51 min) with room for delays
MAX_SKEW_MS = 10 * 60 * 1000  # an event from the future: clocks differ, but not by this much
KEY_CACHE_SECONDS = 60.0
ROUTES_CACHE_SECONDS = 5.0

def _json(status: int, body: dict[str, Any]) -> Response[bytes]:
    media = MediaType.JSON if status < 400 else "application/problem+json"
    if status >= 400:
        body = {"type": "about:blank", "status": status, **body}
    return Response(msgspec.json.encode(body), status_code=status, media_type=media)


def _keys(rt: Runtime) -> dict[str, tuple[float, str | None]]:
    return rt.state.setdefault("zalo.secret_keys", {})


async def _secret_key(rt: Runtime, slug: str, *, reread: bool = False) -> tuple[str | None, bool]:
    """The OA secret key, decrypted and cached a minute, and whether it was just read."""
    hit = _keys(rt).get(slug)
    if hit is not None and hit[0] > time.monotonic() and not reread:
        return hit[1], False
    async with rt.db.tenant(slug) as conn:
        key = await get_secret(conn, rt.crypto, slug, SECRET_KEY)
    _keys(rt)[slug] = (time.monotonic() + KEY_CACHE_SECONDS, key)
    return key, True


async def _route(rt: Runtime, candidates: list[str]) -> str | None:
    """The tenant whose OA id is among ``candidates`` (cached; re-read when one is unknown)."""
    cached = rt.state.get("zalo.oa_routes")
    now = time.monotonic()
    for attempt in range(2):
        if cached is not None:
            for oa in candidates:
                if oa in cached[1]:
                    return cached[1][oa]
            if attempt or now - cached[0] < ROUTES_CACHE_SECONDS:
                return None
        async with rt.db.system() as conn:
            rows = await conn.fetch("SELECT id, oa_id FROM tenant WHERE active AND oa_id IS NOT NULL")
        cached = (now, {r["oa_id"]: r["id"] for r in rows})
        rt.state["zalo.oa_routes"] = cached
    return None


async def ingest(rt: Runtime, raw: bytes, headers: Any, slug: str | None) -> Response[bytes]:
    started = time.perf_counter()
    outcome = "error"
    try:
        outcome, resp = await _ingest(rt, raw, headers, slug)
        return resp
    finally:
        label = slug or "-"
        metrics.WEBHOOK_REQUESTS.labels(label, "zalo", outcome).inc()
        metrics.WEBHOOK_LATENCY.labels(label, "zalo").observe(time.perf_counter() - started)


async def _ingest(rt: Runtime, raw: bytes, headers: Any, slug: str | None) -> tuple[str, Response[bytes]]:
    header = headers.get("x-zevent-signature")
    try:
        ev: ZaloEvent = parse(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        if not raw.strip() or raw.strip() in (b"{}", b"null"):
            return "ping", _json(200, {"message": "ok"})
        return "bad_request", _json(400, {"title": "Bad Request", "detail": "the body is not a Zalo event (JSON object)"})
    if not ev.event_name:  # Zalo's "Test" button and registration pings: acknowledge, do nothing
        return "ping", _json(200, {"message": "ok"})
    if not header:
        return "unsigned", _json(401, {"title": "Unauthorized", "detail": "missing X-ZEvent-Signature"})

    if slug is None:
        slug = await _route(rt, ev.oa_candidates())
        if slug is None:
            return "unknown_oa", _json(404, {"title": "Not Found", "detail": "no tenant for this OA"})
    tenant = await rt.tenant(slug)
    if tenant is None or tenant.file.zalo is None:
        return "unknown_tenant", _json(404, {"title": "Not Found", "detail": f"no Zalo OA for tenant {slug!r}"})
    zalo = tenant.file.zalo
    app_id = str(ev.app_id) if ev.app_id is not None else ""
    if app_id != zalo.app_id or not ev.ts:
        return "bad_signature", _json(401, {"title": "Unauthorized", "detail": "app_id or timestamp does not match"})

    key, fresh = await _secret_key(rt, slug)
    ok = bool(key) and signature.verify(raw, header, app_id=app_id, timestamp=ev.ts, secret_key=key or "")
    if not ok and not fresh:  # the key may have been reset since we cached it
        key, _ = await _secret_key(rt, slug, reread=True)
        ok = bool(key) and signature.verify(raw, header, app_id=app_id, timestamp=ev.ts, secret_key=key or "")
    if not ok:
        return "bad_signature", _json(401, {"title": "Unauthorized", "detail": "invalid X-ZEvent-Signature"})

    try:
        age = time.time() * 1000 - int(ev.ts)
    except ValueError:
        return "bad_request", _json(400, {"title": "Bad Request", "detail": "timestamp is not epoch milliseconds"})
    if age > MAX_AGE_MS or age < -MAX_SKEW_MS:
        return "stale", _json(422, {"title": "Stale event",
                                    "detail": "event timestamp is outside Zalo's retry window; refused as a replay"})

    try:
        num_retry = int(headers.get("num_retry") or 0) or None
    except ValueError:
        num_retry = None
    # Stored and enqueued in one round trip (migration 0009). The job continues this request's
    # trace when tracing is on (the last argument is NULL otherwise).
    job = await rt.db.call("motcua_zalo_ingest", slug, ev.event_key()[:500], ev.event_name[:100], raw.decode("utf-8"),
                           num_retry, headers.get("x-zevent-server"), tracing.current_traceparent())
    if job is None:
        return "duplicate", _json(200, {"message": "already received"})
    return "accepted", _json(200, {"message": "received"})


@post("/zalo/{tenant:str}/webhook", operation_id="ZaloWebhook", status_code=200, include_in_schema=True,
      summary="Zalo OA events for one tenant (signature-checked)")
async def tenant_webhook(tenant: str, request: Request, runtime: Runtime) -> Response[bytes]:
    return await ingest(runtime, await request.body(), request.headers, tenant)


@post("/zalo/webhook", operation_id="ZaloSharedWebhook", status_code=200,
      summary="Zalo OA events for every tenant of the app, routed by OA id")
async def shared_webhook(request: Request, runtime: Runtime) -> Response[bytes]:
    return await ingest(runtime, await request.body(), request.headers, None)
