"""A sandbox iGate: Keycloak-style client-credentials tokens that expire on the world's clock,
``/pa/dossier/search`` slices, online applications, ratings, petitions, VNPost requests and the
procedure catalogue, over the shared ``World`` (see ``motcua.onestop.sandbox_world``)."""

from __future__ import annotations

import base64
import hashlib
import secrets as pysecrets
from datetime import timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from motcua.onestop.records import Status
from motcua.onestop.sandbox_world import SAMPLE_PROCEDURES, SimDossier, World, sandbox_app
from motcua_igate.mapping import format_time, parse_time

TOKEN_SECONDS = 300
_FORM = {"text": "textfield", "date": "datetime", "number": "number", "phone": "phoneNumber"}


def build(settings: Any, tenant: Any, world: World | None = None):
    from motcua_igate.adapter import DEFAULT_STATUS_MAP

    world = world or World(tenant)
    table = {str(k): Status(v) for k, v in DEFAULT_STATUS_MAP.items()}
    table.update({str(k): Status(v) for k, v in tenant.file.adapter.status_map.items()})
    raw_for = {status: raw for raw, status in sorted(table.items(), reverse=True)}
    tokens: dict[str, tuple[int, Any]] = {}  # token -> (epoch, expiry on the world's clock)

    def iso(d):
        return format_time(d) if d else None

    def render(d: SimDossier) -> dict[str, Any]:
        raw = d.raw_override if d.raw_override is not None else raw_for.get(d.status, "?")
        return {
            "id": hashlib.sha1(d.code.encode()).hexdigest()[:24], "code": d.code,
            "dossierStatus": {"id": int(raw) if raw.isdigit() else raw, "name": d.status.label_vi if d.raw_override is None else None},
            "dossierTaskStatus": {"id": "t" + str(raw), "name": d.note},
            "applicant": {"data": {"fullname": d.applicant_name, "identityNumber": d.applicant_id_number,
                                   "phoneNumber": d.applicant_phone}},
            "procedure": {"code": d.procedure.code, "translate": {"name": d.procedure.name},
                          "sector": {"name": d.procedure.sector}},
            "agency": {"id": d.agency[0], "code": d.agency[0], "name": d.agency[1]},
            "appliedDate": "31/02/2025 25:00" if d.corrupt else iso(d.submitted_at),
            "acceptedDate": iso(d.received_at), "appointmentDate": iso(d.due_at),
            "completedDate": iso(d.finished_at), "returnedDate": iso(d.returned_at), "updatedDate": iso(d.updated_at),
            "applyMethod": {"id": 1 if d.online else 0, "name": "Trực tuyến" if d.online else "Trực tiếp"},
            "currentTask": [{"name": d.note, "assignee": {"fullname": d.handler}}],
            "additionalRequirement": d.missing_papers, "comment": d.note,
            "deploymentId": "sandbox",  # a field the adapter does not know: it must ignore it
        }

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        entry = tokens.get(header.removeprefix("Bearer ").strip())
        return bool(entry and entry[0] == world.token_epoch and entry[1] > world.now())

    def unauthorized() -> Response:
        return Response({"error": "invalid_token", "error_description": "Token is not active"}, status_code=401)

    @post("/auth/realms/digo/protocol/openid-connect/token", status_code=200)
    async def token(request: Request) -> Response:
        form = await request.form()
        try:
            user, _, password = base64.b64decode(request.headers.get("authorization", "")[6:]).decode().partition(":")
        except Exception:  # noqa: BLE001
            user = password = ""
        if form.get("grant_type") != "client_credentials":
            return Response({"error": "unsupported_grant_type"}, status_code=400)
        if user != settings.client_id or not pysecrets.compare_digest(password, world.secret("client_secret")):
            return Response({"error": "unauthorized_client", "error_description": "Invalid client credentials"},
                            status_code=401)
        value = pysecrets.token_urlsafe(24)
        tokens[value] = (world.token_epoch, world.now() + timedelta(seconds=TOKEN_SECONDS))
        world.tokens_issued += 1
        return Response({"access_token": value, "expires_in": TOKEN_SECONDS, "refresh_expires_in": 0,
                         "token_type": "Bearer", "not-before-policy": 0, "scope": "profile email"})

    @get("/pa/dossier/search")
    async def search(request: Request) -> Response:
        if not authorized(request):
            return unauthorized()
        q = request.query_params
        page, size = int(q.get("page", 0)), max(1, min(int(q.get("size", 20)), 200))
        extra: dict[str, Any] = {}
        if q.get("code"):
            found = world.find(q["code"])
            items = [found] if found else []
        elif q.get("phone-number") or q.get("identity-number"):
            items = world.by_owner(phone=q.get("phone-number"), id_number=q.get("identity-number"))
        else:
            start = parse_time(q.get("updated-from"))
            end = parse_time(q.get("updated-to")) or world.window_end(timedelta(milliseconds=1))
            items = world.changed_between(start, end)
            extra["serverTime"] = format_time(end)
        chunk = items[page * size:(page + 1) * size]
        return Response({"content": [render(d) for d in chunk], "number": page, "size": size,
                         "numberOfElements": len(chunk), "first": page == 0,
                         "last": (page + 1) * size >= len(items), **extra})

    @post("/pa/dossier/--apply-online", status_code=201)
    async def apply_online(request: Request) -> Response:
        if not authorized(request):
            return unauthorized()
        body = await request.json()
        key = request.headers.get("idempotency-key") or pysecrets.token_hex(8)
        data = (body.get("applicant") or {}).get("data") or {}
        if not data.get("fullname"):
            return Response({"message": "Thiếu họ tên người nộp"}, status_code=400)
        try:
            d = world.submit(idempotency_key=key, procedure_code=(body.get("procedure") or {}).get("code", ""),
                             applicant_name=data["fullname"], applicant_phone=data.get("phoneNumber"),
                             applicant_id_number=data.get("identityNumber"),
                             fields=(body.get("eForm") or {}).get("data") or {},
                             attachments=len(body.get("attachment") or []), raw=body)
        except KeyError:
            return Response({"message": "Thủ tục không tồn tại hoặc không nộp trực tuyến được"}, status_code=400)
        return Response({"id": hashlib.sha1(d.code.encode()).hexdigest()[:24], "code": d.code,
                         "dossierStatus": {"id": raw_for[Status.submitted]}, "appliedDate": iso(d.submitted_at),
                         "appointmentDate": iso(d.due_at)}, status_code=201)

    @post("/ra/dossier-rating", status_code=201)
    async def rating(request: Request) -> Response:
        if not authorized(request):
            return unauthorized()
        body = await request.json()
        if world.find(body.get("dossierCode", "")) is None:
            return Response({"message": "Không tìm thấy hồ sơ"}, status_code=404)
        world.record("evaluations", {"dossier_code": body["dossierCode"], "overall": (body.get("rating") or {}).get("id"),
                                     "comment": body.get("comment"), "raw": body})
        return Response({"id": pysecrets.token_hex(12)}, status_code=201)

    @post("/pe/petition", status_code=201)
    async def petition(request: Request) -> Response:
        if not authorized(request):
            return unauthorized()
        body = await request.json()
        if not body.get("title") or not body.get("description"):
            return Response({"message": "Thiếu tiêu đề hoặc nội dung"}, status_code=400)
        code = f"PAKN-{world.now():%y%m%d}-{len(world.received['feedback']) + 1:04d}"
        world.record("feedback", {"reference": body.get("referenceCode"), "title": body["title"], "code": code, "raw": body})
        return Response({"id": pysecrets.token_hex(12), "code": code}, status_code=201)

    @post("/pa/dossier/{dossier_id:str}/--vnpost", status_code=201)
    async def vnpost(request: Request, dossier_id: FromPath[str]) -> Response:
        if not authorized(request):
            return unauthorized()
        d = next((d for d in world.dossiers.values() if hashlib.sha1(d.code.encode()).hexdigest()[:24] == dossier_id), None)
        if d is None:
            return Response({"message": "Không tìm thấy hồ sơ"}, status_code=404)
        body = await request.json()
        ref = f"EV{world.rng.randrange(10**8):08d}VN"  # a VNPost-style item code
        world.record("postal", {"dossier_code": d.code, "reference": ref, "raw": body})
        return Response({"id": ref, "code": ref, "status": "registered"}, status_code=201)

    @get("/ba/procedure/--search")
    async def procedures(request: Request) -> Response:
        if not authorized(request):
            return unauthorized()
        q = request.query_params
        page, size = int(q.get("page", 0)), max(1, int(q.get("size", 20)))
        items = [{
            "code": p.code, "translate": {"name": p.name}, "sector": {"name": p.sector},
            "agency": [{"code": world.agency_of(p)[0], "name": world.agency_of(p)[1]}],
            "level": "commune" if p.agency_part == "commune" else "province", "processingTime": p.days, "fee": p.fee,
            "applyOnline": p.online,
            "dossierComponent": [{"code": c, "name": n, "quantity": 1, "required": True} for c, n in p.papers],
            "eForm": {"components": [{"key": k, "label": lbl, "type": _FORM.get(t, "textfield"), "required": True}
                                     for k, lbl, t in p.form]} if p.online else None,
        } for p in SAMPLE_PROCEDURES]
        return Response({"content": items[page * size:(page + 1) * size], "last": (page + 1) * size >= len(items)})

    return sandbox_app(world, [token, search, apply_online, rating, petition, vnpost, procedures])
