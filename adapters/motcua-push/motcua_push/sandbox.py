"""A sandbox push system: REST lookups behind an API key, a change window for reconciliation,
online submission and ratings, and signed pushes to the target the control API sets
(``PUT /_sandbox/push-target``; at start ``$MOTCUA_PUBLIC_URL/onestop/<slug>/events`` when that
variable is set) whenever a dossier changes, over the shared ``World``."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets as pysecrets
import time
from datetime import timedelta
from typing import Any

import httpx
import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from motcua.onestop.records import Status
from motcua.onestop.sandbox_world import SimDossier, World, sandbox_app
from motcua_push.adapter import sign
from motcua_push.mapping import STATUS_TABLE, parse_time

RAW_FOR = {status: raw for raw, status in STATUS_TABLE.items()}
PUSH_ATTEMPTS = 3


def build(settings: Any, tenant: Any, world: World | None = None):
    world = world or World(tenant)
    public = os.environ.get("MOTCUA_PUBLIC_URL")
    if public:  # a demo with a known address pushes to it from the start; tests set the target themselves
        world.push_target = f"{public.rstrip('/')}/onestop/{tenant.slug}/events"
    state: dict[str, Any] = {}

    def iso(d):
        return d.isoformat() if d else None

    def render(d: SimDossier) -> dict[str, Any]:
        raw = d.raw_override if d.raw_override is not None else RAW_FOR[d.status]
        return {"dossierCode": d.code, "statusCode": raw, "statusName": None if d.raw_override else d.status.label_vi,
                "procedureCode": d.procedure.code, "procedureName": d.procedure.name, "agencyCode": d.agency[0],
                "agencyName": d.agency[1], "handler": d.handler, "applicantName": d.applicant_name,
                "applicantPhone": d.applicant_phone, "applicantIdNumber": d.applicant_id_number,
                "channel": "online" if d.online else "counter",
                "submittedAt": "hôm qua" if d.corrupt else iso(d.submitted_at), "receivedAt": iso(d.received_at),
                "dueAt": iso(d.due_at), "finishedAt": iso(d.finished_at), "returnedAt": iso(d.returned_at),
                "updatedAt": iso(d.updated_at), "missingPapers": d.missing_papers, "note": d.note}

    def event(d: SimDossier) -> tuple[str, bytes]:
        stamp = iso(d.updated_at)
        event_id = hashlib.sha1(f"{d.code}|{stamp}|{d.raw_override or d.status}".encode()).hexdigest()[:20]
        body = msgspec.json.encode({"eventId": event_id, "occurredAt": stamp, "dossier": render(d)})
        return event_id, body

    def signed(d: SimDossier) -> tuple[bytes, dict[str, str]]:
        _, body = event(d)
        ts = str(int(time.time()))
        return body, {"Content-Type": "application/json", "X-Motcua-Timestamp": ts,
                      "X-Motcua-Signature": sign(world.secret("hmac_secret"), ts, body)}

    async def deliver(d: SimDossier) -> None:
        url = world.push_target
        if not url:
            return
        event_id, _ = event(d)
        record = {"url": url, "event_id": event_id, "code": d.code, "status": str(d.raw_override or d.status),
                  "response": None, "attempts": 0}
        world.pushes.append(record)
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            body, headers = signed(d)  # a retry is signed afresh: the timestamp is part of the signature
            record["attempts"] = attempt
            try:
                response = await state["client"].post(url, content=body, headers=headers)
                record["response"] = response.status_code
                if response.status_code < 500:
                    return
            except httpx.HTTPError as exc:
                record["response"] = type(exc).__name__
            await asyncio.sleep(0.2 * attempt)

    async def ticker() -> None:
        while True:  # planned lives move in real time; each change is pushed as it happens
            await asyncio.sleep(1.0)
            world.tick()

    async def startup() -> None:
        state["client"] = httpx.AsyncClient(timeout=5)
        state["ticker"] = asyncio.create_task(ticker())
        world.listeners.append(deliver)

    async def shutdown() -> None:
        state["ticker"].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state["ticker"]
        await state["client"].aclose()

    def authorized(request: Request) -> bool:
        given = request.headers.get(settings.api_key_header, "")
        return pysecrets.compare_digest(given.encode(), world.secret("api_key").encode())

    def denied() -> Response:
        return Response({"error": "unauthorized", "message": "API key không đúng"}, status_code=401)

    @get("/api/v1/dossiers/changes")
    async def changes(request: Request) -> Response:
        if not authorized(request):
            return denied()
        q = request.query_params
        page, size = int(q.get("page", 0)), max(1, min(int(q.get("size", 50)), 500))
        end = parse_time(q.get("to")) or world.window_end(timedelta(microseconds=1))
        items = world.changed_between(parse_time(q.get("from")), end)
        chunk = items[page * size:(page + 1) * size]
        return Response({"items": [render(d) for d in chunk], "page": page,
                         "hasMore": (page + 1) * size < len(items), "windowEnd": iso(end)})

    @get("/api/v1/dossiers/{code:str}")
    async def lookup(request: Request, code: FromPath[str]) -> Response:
        if not authorized(request):
            return denied()
        d = world.find(code)
        if d is None:
            return Response({"error": "not_found", "message": "Không tìm thấy hồ sơ"}, status_code=404)
        return Response(render(d))

    @post("/api/v1/dossiers", status_code=201)
    async def submit(request: Request) -> Response:
        if not authorized(request):
            return denied()
        body = await request.json()
        if not body.get("applicantName"):
            return Response({"error": "invalid", "message": "Thiếu họ tên người nộp"}, status_code=422)
        try:
            d = world.submit(idempotency_key=request.headers.get("idempotency-key") or pysecrets.token_hex(8),
                             procedure_code=body.get("procedureCode", ""), applicant_name=body["applicantName"],
                             applicant_phone=body.get("applicantPhone"), applicant_id_number=body.get("applicantIdNumber"),
                             fields=body.get("fields") or {}, attachments=len(body.get("attachments") or []), raw=body)
        except KeyError:
            return Response({"error": "invalid", "message": "Thủ tục không nộp trực tuyến được"}, status_code=422)
        return Response({"dossierCode": d.code, "statusCode": RAW_FOR[Status.submitted],
                         "receivedAt": iso(d.submitted_at), "dueAt": iso(d.due_at)}, status_code=201)

    @post("/api/v1/dossiers/{code:str}/ratings", status_code=201)
    async def rate(request: Request, code: FromPath[str]) -> Response:
        if not authorized(request):
            return denied()
        d = world.find(code)
        if d is None:
            return Response({"error": "not_found", "message": "Không tìm thấy hồ sơ"}, status_code=404)
        body = await request.json()
        world.record("evaluations", {"dossier_code": d.code, "overall": body.get("overall"), "raw": body})
        return Response({"ok": True}, status_code=201)

    return sandbox_app(world, [changes, lookup, submit, rate], push_sample=signed,
                       on_startup=[startup], on_shutdown=[shutdown])
